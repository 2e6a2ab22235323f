"""Says so when `pulumi up` failed because the stack is locked (update.yml): a killed
update (a cancelled run, a lost runner) leaves its lock in the self-managed backend, and
every later update stops on it. Reads what `pulumi up` wrote to stderr; when that is the
lock, prints one workflow error naming who holds it since when and how to clear it, and
the same to the job's summary. Exit 0 when it was a lock, 1 when it was something else
(nothing printed).

    python3 scripts/lock_report.py --stack prod --stderr up.err

Standard library only.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from job import append

_LOCKED = re.compile(r"the stack is currently locked by (\d+) lock\(s\)")
_HOLDER = re.compile(
    r"^\s*(?P<file>\S+\.json)(?:\?\S*)?: "
    r"created by (?P<who>\S+) \(pid (?P<pid>\d+)\) at (?P<when>\S+)"
)
RUNBOOK = "docs/operations.md#a-stuck-update"


@dataclass(frozen=True)
class Lock:
    file: str
    who: str
    pid: str
    when: str


def locks(stderr: str) -> list[Lock] | None:
    """The locks the CLI names, or None when the failure was not a lock."""
    if not _LOCKED.search(stderr):
        return None
    found = []
    for line in stderr.splitlines():
        match = _HOLDER.match(line)
        if match:
            found.append(Lock(match["file"], match["who"], match["pid"], match["when"]))
    return found


def message(stack: str, held: list[Lock]) -> str:
    holders = "; ".join(f"{lock.who} (pid {lock.pid}) since {lock.when}" for lock in held)
    return (
        f"{stack} is locked by {len(held) or 'an'} earlier update{'s' * (len(held) > 1)}"
        f"{': ' + holders if holders else ''}. If none still runs (the Actions tab, the "
        f"concurrency group pulumi-up-{stack}), that update was killed: clear its lock with "
        f"`pulumi cancel --stack {stack} --yes` and run this workflow again ({RUNBOOK})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--stderr", required=True, type=Path)
    args = parser.parse_args(argv)
    text = args.stderr.read_text(errors="replace") if args.stderr.exists() else ""
    held = locks(text)
    if held is None:
        return 1
    line = message(args.stack, held)
    print(f"::error title={args.stack} is locked::{line}")
    for lock in held:
        print(f"lock file: {lock.file}")
    append("GITHUB_STEP_SUMMARY", f"### {args.stack} is locked\n\n{line}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
