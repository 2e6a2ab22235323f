"""What a program registers, as a record another version of it is held to: each
resource's URN, type, parent and a digest of its inputs, for every shipped stack.

    cd <a checkout of the commit> && PYTHONPATH=tests python - < tests/registrations.py > out.json

records that checkout's registrations (its own harness, under mocks, a preview of each
shipped stack). tests/data/registrations-47412ba.json is main's before the components
took their children (issue 24); tests/test_moves.py holds today's program to it: every
resource it had is still there under its URN or an alias, none is replaced."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any

STACKS = ("dev", "staging", "prod")


def digest(inputs: Mapping[str, Any]) -> str:
    """A digest of a registration's inputs (as the mocks resolve them: deterministic)."""
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


SCRIPTS = ("create", "stdin")
"""A host command's script and what it reads: what a change to the host files changes (the
command runs again in place). Everything else of a command (its connection, its
triggers) is recorded apart: a change there replaces or retargets it."""


def record(registrations: Iterable[Any]) -> list[dict[str, Any]]:
    return [
        {
            "urn": r.urn,
            "type": r.type,
            "custom": r.custom,
            "parent": r.parent,
            "inputs": digest(r.inputs),
            "inputs_but_scripts": digest(
                {key: value for key, value in r.inputs.items() if key not in SCRIPTS}
            ),
        }
        for r in registrations
    ]


def main() -> None:
    from harness import run_program

    recorded = {}
    for stack in STACKS:
        run = run_program(stack)
        assert run.error is None, run.error
        recorded[stack] = record(run.registrations)
    json.dump(recorded, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
