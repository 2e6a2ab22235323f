"""The generic config reader: raw Pulumi config values in, typed values out, and one
line per problem.

A required read always returns a value of its type, so the settings models need no
Optional fields for values that must be there: when the value is missing or bad, the
reader records the problem and returns a stand-in, and ``finish()`` raises before any
model built from a stand-in can leave ``load()``. Rules that span keys ask ``valid()``
first, so they never fire on a stand-in.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from typing import NoReturn, TypeVar

import pulumi

from .checks import documentation_network

T = TypeVar("T")


class ConfigError(pulumi.RunError):
    """Bad stack configuration; the message has one line per problem. A RunError, so the
    language host prints the message alone, without a traceback."""


SHOWN_TO_USER = 32
"""The exit status by which a program tells Pulumi's Python language host that it has
shown the user its error (pulumi-language-python-exec's
PYTHON_PROCESS_EXITED_AFTER_SHOWING_USER_ACTIONABLE_MESSAGE_CODE): the CLI then adds no
"program exited with non-zero exit code" line of its own, as it does after a RunError."""


def stop(error: ConfigError) -> NoReturn:
    """Show ``error`` (one line per problem) as the program's only error, and end it."""
    pulumi.log.error(str(error))
    raise SystemExit(SHOWN_TO_USER) from error


def _present_keys() -> set[str]:
    """Every config key the engine handed the program. Pulumi offers no public way to
    list them; this is the one place that reads its config store."""
    return set(pulumi.runtime.config.CONFIG.get()) | set(pulumi.runtime.get_config_env())


class ConfigReader:
    """Reads one project's config namespace and records one line per problem."""

    def __init__(self, config: pulumi.Config) -> None:
        self._config = config
        self.errors: list[str] = []
        self.read: set[str] = set()
        self._bad: set[str] = set()
        self._placeholders: list[str] = []
        self._retired: set[str] = set()

    # -- naming and reporting -------------------------------------------------------

    def key(self, name: str) -> str:
        """The full key, e.g. matra-infra:dropletSize."""
        return f"{self._config.name}:{name}"

    def shown(self, name: str, value: object) -> str:
        """How a value appears in a message: never the value of a secret."""
        if value is None or value == "":
            return "(missing)"
        if pulumi.runtime.is_config_secret(self.key(name)):
            return "(value hidden)"
        return repr(value)

    def fail(self, name: str, value: object, expected: str) -> None:
        """Record '<key>: <value> is not allowed; expected <what is allowed>'."""
        self._bad.add(name)
        self.errors.append(
            f"{self.key(name)}: {self.shown(name, value)} is not allowed; expected {expected}"
        )

    def fail_part(self, name: str, part: str, expected: str) -> None:
        """Record that a part of a secret value (e.g. 'line 2') is not allowed, naming the
        part but never showing it."""
        self._bad.add(name)
        self.errors.append(
            f"{self.key(name)}: {part} (value hidden) is not allowed; expected {expected}"
        )

    def valid(self, *names: str) -> bool:
        """Whether every named key read without a problem (rules across keys ask first)."""
        return not self._bad.intersection(names)

    def check(self, ok: bool, name: str, expected: str, *, given: tuple[str, ...] = ()) -> None:
        """A rule across keys: unless ``ok``, refuse ``name``'s value, saying what is
        ``expected`` of it. Skipped when ``name`` or a key it is ``given`` with is bad
        already (its value is then a stand-in)."""
        if not ok and self.valid(name, *given):
            self.fail(name, self.raw(name), expected)

    def placeholder(self, name: str, value: object, why: str, fix: str) -> None:
        """A value that is valid in form but stands for one the operator must supply: an
        update refuses it, a preview warns (once, for all of them) and goes on."""
        line = f"{self.key(name)}: {self.shown(name, value)} is {why}; {fix}"
        if pulumi.runtime.is_dry_run():
            self._placeholders.append(line)
        else:
            self._bad.add(name)
            self.errors.append(line)

    def retired(self, name: str, why: str) -> None:
        """A key the project no longer reads: set, it is refused (its value never shown)
        with why it went and how to remove it."""
        self._retired.add(name)
        if self._config.get(name) not in (None, ""):
            self._bad.add(name)
            self.errors.append(
                f"{self.key(name)}: no longer used; {why} (remove it with: pulumi config rm "
                f"{self.key(name)})"
            )

    def finish(self) -> None:
        """Report unknown keys; raise ConfigError if anything was wrong, else warn once
        about placeholders (previews only)."""
        self._reject_unknown_keys()
        if self.errors:
            raise ConfigError("\n".join(self.errors))
        if self._placeholders:
            pulumi.log.warn(
                "placeholder config, refused by `pulumi up`: " + " | ".join(self._placeholders)
            )

    def _reject_unknown_keys(self) -> None:
        """A key in the project's namespace that no setting reads is a typo."""
        prefix = f"{self._config.name}:"
        for full_key in sorted(_present_keys()):
            name = full_key[len(prefix) :]
            if full_key.startswith(prefix) and name not in self.read | self._retired:
                close = difflib.get_close_matches(name, sorted(self.read), n=1)
                hint = f"did you mean {prefix}{close[0]}? " if close else ""
                self.errors.append(
                    f"{full_key}: unknown key; {hint}expected one of the keys declared in "
                    "Pulumi.yaml"
                )

    # -- raw access -----------------------------------------------------------------

    def raw(self, name: str) -> str | None:
        """The value as the engine passed it (a string), or None when unset."""
        self.read.add(name)
        return self._config.get(name)

    def is_set(self, name: str) -> bool:
        return self.raw(name) not in (None, "")

    # -- typed reads ------------------------------------------------------------------

    def parse(self, name: str, expected: str, convert: Callable[[str], T], stand_in: T) -> T:
        """A required value: ``convert`` raises ValueError or TypeError on a bad one."""
        value = self.raw(name)
        if value is None or value == "":
            self.fail(
                name, None, f"{expected} (set it with: pulumi config set {self.key(name)} <value>)"
            )
            return stand_in
        try:
            return convert(value)
        except (ValueError, TypeError):
            self.fail(name, value, expected)
            return stand_in

    def optional(self, name: str, expected: str, convert: Callable[[str], T]) -> T | None:
        """A value that may be unset (None then)."""
        if not self.is_set(name):
            return None
        value = self.raw(name)
        assert value is not None
        try:
            return convert(value)
        except (ValueError, TypeError):
            self.fail(name, value, expected)
            return None

    def string(self, name: str, expected: str, valid: Callable[[str], bool]) -> str:
        return self.parse(name, expected, _checked(valid), "")

    def matching(self, name: str, expected: str, pattern: str) -> str:
        """A required string that the regular expression ``pattern`` matches (from its
        start): a value's grammar where it is read, beside the words that describe it."""
        grammar = re.compile(pattern)
        return self.string(name, expected, lambda v: bool(grammar.match(v)))

    def optional_string(self, name: str, expected: str, valid: Callable[[str], bool]) -> str | None:
        return self.optional(name, expected, _checked(valid))

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        return self.string(name, f"one of: {', '.join(allowed)}", lambda v: v in allowed)

    def integer(self, name: str, low: int, high: int, expected: str | None = None) -> int:
        """A whole number from ``low`` to ``high``; ``expected`` says why, where the bounds
        need it."""
        return self.parse(
            name,
            expected or f"a whole number from {low} to {high}",
            _int_in(lambda n: low <= n <= high),
            low,
        )

    def one_of_ints(self, name: str, allowed: tuple[int, ...], expected: str) -> int:
        return self.parse(name, expected, _int_in(lambda n: n in allowed), allowed[0])

    def boolean(self, name: str) -> bool:
        def convert(value: str) -> bool:
            lowered = value.strip().lower()
            if lowered not in ("true", "false"):
                raise ValueError(value)
            return lowered == "true"

        return self.parse(name, "true or false", convert, False)

    def networks(self, name: str, values: tuple[str, ...], fix: str) -> None:
        """Values that lie in a documentation network (RFC 5737, RFC 3849) are examples
        copied from the docs, never a real network: placeholders (see ``placeholder``)."""
        for value in values:
            rfc = documentation_network(value)
            if rfc is not None:
                self.placeholder(name, value, f"a documentation network ({rfc})", fix)

    def string_list(
        self, name: str, item_expected: str, valid: Callable[[str], bool], min_items: int = 0
    ) -> tuple[str, ...]:
        """A list of strings (JSON, as the engine passes a YAML list); each item checked."""
        value = self.raw(name)
        items: object = []
        if value not in (None, ""):
            assert value is not None
            try:
                items = json.loads(value)
            except ValueError:
                items = None
            if not isinstance(items, list):
                self.fail(name, value, f"a list of {item_expected}")
                return ()
        assert isinstance(items, list)
        good = [item for item in items if isinstance(item, str) and valid(item)]
        for item in items:
            if item not in good:
                self.fail(name, item, f"each item to be {item_expected}")
        if len(good) < len(items):
            return ()
        if len(good) < min_items:
            self.fail(name, value, f"at least {min_items} {item_expected}")
        return tuple(good)

    def secret(self, name: str) -> pulumi.Output[str] | None:
        """A secret setting: None when unset; refused (its value never echoed) when it is
        stored in plain text."""
        if not self.is_set(name):
            return None
        if not pulumi.runtime.is_config_secret(self.key(name)):
            self._bad.add(name)
            self.errors.append(
                f"{self.key(name)}: (value hidden) is stored in plain text; expected a secret "
                f"(set it with: pulumi config set --secret {self.key(name)} < file)"
            )
            return None
        return self._config.require_secret(name)


def _checked(valid: Callable[[str], bool]) -> Callable[[str], str]:
    def convert(value: str) -> str:
        if not valid(value):
            raise ValueError(value)
        return value

    return convert


def _int_in(valid: Callable[[int], bool]) -> Callable[[str], int]:
    def convert(value: str) -> int:
        number = int(value.strip())
        if not valid(number):
            raise ValueError(value)
        return number

    return convert
