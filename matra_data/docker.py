"""Docker image references, by the grammar Docker's own parser uses (distribution's
reference package): what a release (a tag, or TAG@sha256:<64 hex>) and an image name may
be. Anything else (a space, `;`, `$(...)`, a backtick) is refused here, before any host is
reached."""

from __future__ import annotations

import re
from dataclasses import dataclass

TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
"""A tag: a word character, then up to 127 word characters, dots and dashes."""

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?"
NAME = re.compile(rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
"""A repository name: an optional registry (host[:port]), then lower-case path parts."""
NAME_MAX = 255
PATH_COMPONENT = re.compile(_PATH_COMPONENT)
"""One part of a repository path (the app's name in registry.digitalocean.com/<r>/<app>)."""


def tag_problem(tag: str) -> str | None:
    """Why ``tag`` is not a Docker tag, or None if it is one."""
    if TAG.fullmatch(tag):
        return None
    return (
        "a release tag is a letter, digit or _, then up to 127 letters, digits, _ . or - "
        "(a Docker tag)"
    )


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a Docker repository name (without a tag), or None."""
    if len(name) > NAME_MAX:
        return f"longer than {NAME_MAX} characters"
    if not NAME.fullmatch(name):
        return "not a Docker repository name (registry/path, lower-case path, no tag)"
    return None


DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
"""An image digest as registries and Docker name it."""


def release_problem(release: str) -> str | None:
    """Why ``release`` is not TAG or TAG@sha256:<64 hex>, or None if it is one."""
    tag, at, digest = release.partition("@")
    if tag_problem(tag):
        return tag_problem(tag)
    if at and not DIGEST.fullmatch(digest):
        return "a digest is sha256: and 64 lower-case hex digits (TAG@sha256:<64 hex>)"
    return None


@dataclass(frozen=True)
class Release:
    """A release: its tag and, once known, the digest of its image."""

    tag: str
    digest: str = ""

    @classmethod
    def parse(cls, text: str) -> Release:
        """``text`` (TAG or TAG@sha256:<64 hex>), already checked by release_problem."""
        tag, _, digest = text.partition("@")
        return cls(tag, digest)

    @classmethod
    def read(cls, text: str) -> Release | None:
        """``text`` as a release; None when it is none (``release_problem`` says why)."""
        return None if release_problem(text) else cls.parse(text)

    def __str__(self) -> str:
        return f"{self.tag}@{self.digest}" if self.digest else self.tag

    @property
    def short(self) -> str:
        """For progress lines: the tag and the digest's first 12 hex digits."""
        return f"{self.tag}@{self.digest[:19]}" if self.digest else self.tag
