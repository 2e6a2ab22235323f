"""What a `pulumi preview` found, read from its structured output and written for people:
a pull request's comment, a job's summary, a drift issue, the run's log.

The preview runs with `--json` and PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true: one engine
event a line (what changes and why, each policy violation, the diagnostics, the summary),
secret values already replaced by the CLI. This report adds a second mask: every value
of the secrets the job holds (named with --mask-env), so nothing a job can read reaches a
comment, and a length that fits where it goes (a GitHub comment or issue: 65,536
characters).

    python3 scripts/preview_report.py --stack prod --exit-code 0 --events preview.jsonl \\
        [--stderr preview.err] [--mask-env PULUMI_CONFIG_PASSPHRASE ...] \\
        [--format markdown|text] [--summary]

Standard library only: the pull request's comment job runs it with any Python 3.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from job import append

GITHUB_LIMIT = 65_536
"""The most characters GitHub takes in a comment or an issue body."""
BUDGET = 60_000
"""What a report may use of it: the rest is headroom for what a caller adds."""
MASK = "***"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S
)
_SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""The engine's marker of a secret value in an event."""
CHANGES = {
    "create": "+",
    "update": "~",
    "replace": "+-",
    "create-replacement": "++",
    "delete-replaced": "--",
    "delete": "-",
    "import": "=",
    "read": ">",
    "discard": "-",
}
"""The operations that change something, with the CLI's symbol for each."""
ORDER = ["create", "update", "replace", "create-replacement", "delete-replaced", "delete"]


class Masker:
    """Replaces each secret value (each of its lines, for a multi-line one) with ***."""

    def __init__(self, values: Iterable[str]) -> None:
        pieces = set()
        for value in values:
            for piece in [value, *value.splitlines()]:
                if len(piece.strip()) >= 4:
                    pieces.add(piece)
        # Longest first, so a value containing another is masked whole.
        self._pieces = sorted(pieces, key=len, reverse=True)

    @classmethod
    def from_env(cls, names: Iterable[str], env: Mapping[str, str] | None = None) -> Masker:
        env = os.environ if env is None else env
        return cls(env[name] for name in names if env.get(name))

    def __call__(self, text: str) -> str:
        text = _PRIVATE_KEY.sub("[private key]", _ANSI.sub("", text))
        for piece in self._pieces:
            text = text.replace(piece, MASK)
        return text


@dataclass
class Change:
    op: str
    type: str
    name: str
    properties: list[str] = field(default_factory=list)
    """The properties that change (or, for a replacement, that force it)."""


@dataclass
class Violation:
    level: str
    policy: str
    resource: str
    message: str


@dataclass
class Report:
    stack: str
    exit_code: int
    result: str = ""
    """The engine's verdict: succeeded, failed, or "" when it never got that far."""
    counts: dict[str, int] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    drifted: list[Change] = field(default_factory=list)
    """Resources a refresh found different from the state (what changed outside Pulumi)."""
    violations: list[Violation] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    @property
    def changed(self) -> int:
        return sum(n for op, n in self.counts.items() if op in CHANGES)


def _name_and_type(urn: str, type_: str) -> tuple[str, str]:
    name = urn.rsplit("::", 1)[-1]
    return name, type_ or urn.split("::")[-2].rsplit("$", 1)[-1]


def _short(type_: str) -> str:
    """digitalocean:index/droplet:Droplet -> digitalocean.Droplet"""
    package, _, rest = type_.partition(":")
    return f"{package}.{rest.rsplit(':', 1)[-1]}" if rest else type_


def _is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and _SECRET_SIG in value


def _differing(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[str]:
    """Top-level keys whose values differ (a secret counts as changed only if its
    ciphertext marker differs; the values themselves are never shown)."""
    old, new = dict(old or {}), dict(new or {})
    keys = sorted(set(old) | set(new))
    return [k for k in keys if not k.startswith("__") and old.get(k) != new.get(k)]


def _step_properties(meta: Mapping[str, Any]) -> list[str]:
    if meta.get("op") in ("replace", "create-replacement", "delete-replaced") and meta.get("keys"):
        return sorted(meta["keys"])
    if meta.get("diffs"):
        return sorted(meta["diffs"])
    if meta.get("detailedDiff"):
        return sorted(meta["detailedDiff"])
    if meta.get("op") == "update":
        return _differing(
            (meta.get("old") or {}).get("inputs"), (meta.get("new") or {}).get("inputs")
        )
    return []


def read_events(
    stack: str, exit_code: int, lines: Iterable[str], stderr: Iterable[str] = ()
) -> Report:
    """The report of one preview from its event stream (and what it wrote to stderr)."""
    report = Report(stack=stack, exit_code=exit_code)
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            # The CLI writes a few lines of plain text into --json output (installing a
            # policy pack, an error before the engine starts): keep the errors.
            if line.lower().startswith("error"):
                report.errors.append(line)
            continue
        if not isinstance(event, dict):
            continue
        _take(report, event)
    for line in stderr:
        text = line.strip()
        if text.lower().startswith("error") and text not in report.errors:
            report.errors.append(text)
    return report


def _take(report: Report, event: Mapping[str, Any]) -> None:
    if "resourcePreEvent" in event:
        meta = event["resourcePreEvent"].get("metadata") or {}
        op = meta.get("op", "")
        name, type_ = _name_and_type(meta.get("urn", ""), meta.get("type", ""))
        if op in CHANGES and type_ != "pulumi:pulumi:Stack":
            report.changes.append(Change(op, type_, name, _step_properties(meta)))
    elif "resOutputsEvent" in event:
        # A refresh's outcome: what the provider read, against the state.
        meta = event["resOutputsEvent"].get("metadata") or {}
        name, type_ = _name_and_type(meta.get("urn", ""), meta.get("type", ""))
        if meta.get("op") == "refresh" and type_ != "pulumi:pulumi:Stack":
            drift = _differing(
                (meta.get("old") or {}).get("outputs"), (meta.get("new") or {}).get("outputs")
            )
            if drift:
                report.drifted.append(Change("refresh", type_, name, drift))
    elif "policyEvent" in event:
        policy = event["policyEvent"]
        urn = policy.get("resourceUrn") or ""
        resource = "the stack"
        if urn:
            name, type_ = _name_and_type(urn, "")
            resource = f"{_short(type_)} {name}"
        message = " ".join((policy.get("message") or "").split())
        report.violations.append(
            Violation(
                policy.get("enforcementLevel", ""), policy.get("policyName", ""), resource, message
            )
        )
    elif "diagnosticEvent" in event:
        diagnostic = event["diagnosticEvent"]
        if diagnostic.get("severity") == "error":
            text = " ".join(
                ((diagnostic.get("prefix") or "") + (diagnostic.get("message") or "")).split()
            )
            if text and text not in report.errors:
                report.errors.append(text)
    elif "summaryEvent" in event:
        summary = event["summaryEvent"]
        report.result = summary.get("result", "")
        report.counts = {k: int(v) for k, v in (summary.get("resourceChanges") or {}).items()}


NO_CHANGES_EXPECTED = "no changes were expected"
"""What the CLI says when `--expect-no-changes` meets a change (exit code 7 on the CLIs
this project runs; read from the output, not the code, so an older CLI's 255 counts too)."""


def drift_status(report: Report) -> str:
    """clean, drift (what a refresh found differs from the state, or the program would
    change something) or error (the check itself failed: a bad key, an unreadable state)."""
    if report.passed:
        return "clean"
    others = [e for e in report.errors if NO_CHANGES_EXPECTED not in e]
    if not others and (report.changed or report.drifted):
        return "drift"
    return "error"


def load(stack: str, exit_code: int, events: Path, stderr: Path | None = None) -> Report:
    lines = events.read_text(errors="replace").splitlines() if events.exists() else []
    errors = stderr.read_text(errors="replace").splitlines() if stderr and stderr.exists() else []
    report = read_events(stack, exit_code, lines, errors)
    if not lines and not report.errors:
        report.errors.append("the preview wrote no output (see the run's log)")
    return report


# -- rendering ------------------------------------------------------------------------


def counts_line(report: Report) -> str:
    parts = [
        f"{CHANGES[op]} {report.counts[op]} to {op.replace('-', ' ')}"
        for op in ORDER
        if report.counts.get(op)
    ]
    same = report.counts.get("same", 0)
    if same:
        parts.append(f"{same} unchanged")
    return ", ".join(parts) or "no resources"


def _verdict(report: Report, what: str) -> str:
    if report.passed:
        return "passed"
    mandatory = sum(1 for v in report.violations if v.level == "mandatory")
    why = (
        f"{mandatory} mandatory policy violation{'s' * (mandatory != 1)}"
        if mandatory
        else "an error"
    )
    return f"failed (exit code {report.exit_code}): {why}, below"


def _cell(text: str, limit: int = 400) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _changes_table(changes: Sequence[Change]) -> list[str]:
    rows = ["| | resource | type | properties |", "|---|---|---|---|"]
    for change in changes:
        symbol = CHANGES.get(change.op, change.op)
        properties = ", ".join(f"`{p}`" for p in change.properties) or ""
        rows.append(
            f"| `{symbol}` {change.op} | `{_cell(change.name, 120)}` | {_short(change.type)} "
            f"| {_cell(properties, 300)} |"
        )
    return rows


def markdown(
    report: Report, mask: Masker, *, title: str, header: Sequence[str] = (), budget: int = BUDGET
) -> str:
    """The report as GitHub markdown, masked, at most ``budget`` characters: the verdict
    and the policy report first, then the errors, then each change until the budget
    runs out (a last line says how many were left out and where they are)."""
    lines = [*header, f"### {title}: {_verdict(report, title)}", ""]
    lines.append(f"**Changes:** {counts_line(report)}")
    lines.append("")
    mandatory = [v for v in report.violations if v.level == "mandatory"]
    advisory = [v for v in report.violations if v.level != "mandatory"]
    lines.append(
        f"**Policy pack:** {len(mandatory)} mandatory, {len(advisory)} advisory violation"
        f"{'s' * (len(report.violations) != 1)}"
    )
    if report.violations:
        lines += [
            "",
            "| level | rule | resource | what is wrong, and the fix |",
            "|---|---|---|---|",
        ]
        for v in [*mandatory, *advisory]:
            lines.append(
                f"| {v.level} | `{v.policy}` | {_cell(v.resource, 150)} | {_cell(v.message, 700)} |"
            )
    if report.errors:
        lines += ["", "**Errors**", ""]
        lines += [f"- {_cell(e, 1000)}" for e in report.errors[:20]]
    head = mask("\n".join(lines))
    if len(head) > budget:
        return head[: budget - 80] + "\n\n(cut here to fit; the run's log has the rest)\n"
    body = [head]
    used = len(head)

    def add(piece: str, spare: int, instead: str) -> bool:
        """Add ``piece`` where ``spare`` characters of the budget are left after it, else
        the (short) note ``instead``; whether the piece went in."""
        nonlocal used
        fits = used + len(piece) + spare <= budget
        body.append(piece if fits else instead)
        used += len(piece) if fits else 100
        return fits

    sections = [
        ("What changed outside Pulumi (the refresh)", report.drifted),
        ("Resources that change", report.changes),
    ]
    for heading, changes in sections:
        if not changes:
            continue
        intro = mask(f"\n\n**{heading}** ({len(changes)})\n\n" + "\n".join(_changes_table([])))
        left_out = f"\n\n**{heading}**: {len(changes)}, left out to fit (the run's log has them)"
        if not add(intro, 200, left_out):
            continue
        for index, change in enumerate(changes):
            row = "\n" + mask(_changes_table([change])[2])
            rest = len(changes) - index
            if not add(
                row, 120, f"\n\n… and {rest} more, left out to fit (the run's log has all of them)"
            ):
                break
    return "".join(body) + "\n"


def text(report: Report, mask: Masker) -> str:
    """The report as plain text, for the run's log."""
    lines = [f"{report.stack}: {_verdict(report, 'preview')}", f"changes: {counts_line(report)}"]
    for change in report.drifted:
        lines.append(
            f"  drifted {_short(change.type)} {change.name}: {', '.join(change.properties)}"
        )
    for change in report.changes:
        detail = f": {', '.join(change.properties)}" if change.properties else ""
        lines.append(
            f"  {CHANGES.get(change.op, change.op):>2} {change.op} {_short(change.type)} "
            f"{change.name}{detail}"
        )
    for v in report.violations:
        lines.append(f"  [{v.level}] {v.policy} ({v.resource}): {v.message}")
    for error in report.errors:
        lines.append(f"  {error}")
    return mask("\n".join(lines)) + "\n"


def preview_arguments(parser: argparse.ArgumentParser) -> None:
    """What a script reading a preview is told: the stack, the CLI's exit code, its
    events (--event-log) and stderr, and the variables whose values to mask."""
    parser.add_argument("--stack", required=True)
    parser.add_argument("--exit-code", required=True, type=int)
    parser.add_argument("--events", required=True, type=Path)
    parser.add_argument("--stderr", type=Path)
    parser.add_argument("--mask-env", nargs="*", default=[], metavar="NAME")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    preview_arguments(parser)
    parser.add_argument("--format", choices=("markdown", "text"), default="text")
    parser.add_argument("--title", default="")
    parser.add_argument(
        "--summary", action="store_true", help="append the markdown to $GITHUB_STEP_SUMMARY too"
    )
    parser.add_argument(
        "--drift-status",
        action="store_true",
        help="print clean, drift or error for a `preview --refresh --expect-no-changes`",
    )
    args = parser.parse_args(argv)
    report = load(args.stack, args.exit_code, args.events, args.stderr)
    if args.drift_status:
        print(drift_status(report))
        return 0
    mask = Masker.from_env(args.mask_env)
    title = args.title or f"`pulumi preview` of **{args.stack}**"
    rendered = (
        markdown(report, mask, title=title) if args.format == "markdown" else text(report, mask)
    )
    sys.stdout.write(rendered)
    if args.summary:
        append("GITHUB_STEP_SUMMARY", markdown(report, mask, title=title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
