"""Read a stack's outputs for the deploy command (python -m deploy --outputs FILE), in the
job that uses them: `pulumi stack output --json --show-secrets` into FILE, which only its
owner can read (0600), after masking in the job's log every line of every secret output
(the deploy key, the connection strings). Nothing it prints holds a value.

    python scripts/stack_outputs.py --stack prod --out "$RUNNER_TEMP/outputs.json"

Which outputs are secret is what the CLI says without --show-secrets ("[secret]").
Standard library only; needs the pulumi CLI on PATH and the backend's environment.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from job import write_private

SECRET = "[secret]"
"""How `pulumi stack output --json` shows a secret output without --show-secrets."""


class OutputsError(Exception):
    """The outputs could not be read; the message is one line."""


def stack_outputs(stack: str, *, show_secrets: bool) -> dict[str, Any]:
    command = ["pulumi", "stack", "output", "--stack", stack, "--json", "--non-interactive"]
    if show_secrets:
        command.append("--show-secrets")
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise OutputsError("no pulumi CLI on PATH") from error
    if done.returncode != 0:
        last = [line for line in done.stderr.splitlines() if line.strip()][-1:] or ["no message"]
        raise OutputsError(f"pulumi stack output --stack {stack} failed: {last[0].strip()}")
    try:
        outputs = json.loads(done.stdout or "{}")
    except ValueError as error:
        raise OutputsError(f"pulumi stack output --stack {stack} printed no JSON") from error
    if not isinstance(outputs, dict):
        raise OutputsError(f"pulumi stack output --stack {stack} printed no JSON object")
    return outputs


def _strings(value: Any) -> Iterator[str]:
    """Every text a value can show up as in a log: itself, each leaf, its JSON."""
    if isinstance(value, str):
        yield value
        return
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    if value is not None and not isinstance(value, bool):
        yield json.dumps(value) if isinstance(value, (Mapping, list)) else str(value)


def escape_data(value: str) -> str:
    """A workflow command's data, escaped as the runner unescapes it (actions/toolkit)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def mask_commands(shown: Mapping[str, Any], revealed: Mapping[str, Any]) -> list[str]:
    """`::add-mask::` for each line of each secret output (GitHub masks line by line)."""
    lines: list[str] = []
    for key, value in revealed.items():
        if shown.get(key) != SECRET:
            continue
        for text in _strings(value):
            for line in text.splitlines():
                if line.strip() and f"::add-mask::{escape_data(line)}" not in lines:
                    lines.append(f"::add-mask::{escape_data(line)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        shown = stack_outputs(args.stack, show_secrets=False)
        revealed = stack_outputs(args.stack, show_secrets=True)
    except OutputsError as error:
        print(f"stack_outputs: {error}", file=sys.stderr)
        return 1
    for command in mask_commands(shown, revealed):
        print(command, flush=True)
    try:
        write_private(args.out, json.dumps(revealed))
    except OSError as error:
        print(f"stack_outputs: can't write {args.out} ({error.strerror or error})", file=sys.stderr)
        return 1
    secret = sorted(key for key in revealed if shown.get(key) == SECRET)
    print(
        f"stack_outputs: {len(revealed)} outputs of {args.stack} in {args.out} (0600); "
        f"secret, masked: {', '.join(secret) or 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
