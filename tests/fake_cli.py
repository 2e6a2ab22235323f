"""A fake `pulumi` for the tests of the scripts that call the CLI: a shell script in a bin
directory of the test's own, found ahead of everything else on PATH."""

import os
from pathlib import Path


def fake_cli(tmp_path: Path, body: str) -> str:
    """A `pulumi` in ``tmp_path``/bin that runs the shell ``body``; returns the PATH that
    finds it first."""
    cli = tmp_path / "bin" / "pulumi"
    cli.parent.mkdir()
    cli.write_text("#!/bin/sh\n" + body)
    cli.chmod(0o755)
    return f"{cli.parent}:{os.environ['PATH']}"


def recording_cli(tmp_path: Path, version: str, then: str = "") -> str:
    """A `pulumi` that answers `pulumi version` with ``version`` and records every other
    call's arguments, one line each, in ``tmp_path``/calls before it runs the shell
    ``then``; returns the PATH that finds it first."""
    return fake_cli(
        tmp_path,
        f'if [ "$1" = version ]; then echo v{version}; exit 0; fi\n'
        f'echo "$*" >> {tmp_path}/calls\n' + then,
    )
