"""The host's files (host/) as the program delivers them: each remote step runs one script
of host/ with its parameters in its environment and the files it needs beside it.

A step's command (what pulumi-command's remote Command runs over SSH) is made here and
only here (``host_command``): it writes host/functions.sh, the script and its other files
byte for byte into a private temporary directory, sets the script's parameters (public,
shell-quoted) and runs the script, its standard input the command's own (where secrets
travel). So the scripts are plain, shellchecked files; the command holds every file's
content, and a change to any of them changes the command, which is what makes Pulumi run
the step again. The command names each file with its sha256, so a preview's diff says
which changed."""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HOST_DIR = Path(__file__).resolve().parent.parent / "host"
"""host/: the scripts and programs the hosts run, as they run them."""
LIBRARY = "functions.sh"
"""What every script sources from beside itself (apt_get, put_file, ...)."""
COMMAND_LIMIT = 120 * 1024
"""sshd hands a command to the login shell as one argument, which Linux caps at 128 KiB
(MAX_ARG_STRLEN): a command above this fails on the host with E2BIG. Kept under it, with
room, before anything runs."""
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_PARAMETER = re.compile(r"MATRA_[A-Z0-9_]+")
_END = "MATRA_HOST_FILE"


def host_file(name: str) -> str:
    """The text of host/<name>."""
    return (HOST_DIR / name).read_text(encoding="utf-8")


def host_command(
    script: str,
    *,
    params: Mapping[str, object] | None = None,
    files: Mapping[str, str] | None = None,
) -> str:
    """The command that runs host/<script> on a host: host/functions.sh and ``files``
    (name: text; host files or rendered templates) beside it, ``params`` (MATRA_*, public)
    in its environment, the command's standard input its own."""
    bundle = {LIBRARY: host_file(LIBRARY), script: host_file(script), **(files or {})}
    variables = dict(params or {})
    for name, text in bundle.items():
        if not _FILE_NAME.fullmatch(name):
            raise ValueError(f"host file name {name!r}: letters, digits, . _ - only")
        if text and not text.endswith("\n"):
            raise ValueError(f"host file {name} does not end with a newline")
        if _END in text.splitlines():
            raise ValueError(f"host file {name} holds a line {_END}, its delimiter here")
    for key, value in variables.items():
        if not _PARAMETER.fullmatch(key):
            raise ValueError(f"host script parameter {key!r}: MATRA_ and capitals only")
        if "\n" in str(value):
            raise ValueError(f"host script parameter {key}: one line only, got {value!r}")
    if not bundle[script].startswith("#!/bin/sh\n"):
        raise ValueError(f"host/{script} is not a /bin/sh script")
    width = max(len(name) for name in bundle)
    lines = [
        "#!/bin/sh",
        f"# matra-infra: host/{script} with its files and parameters (matra/hostfiles.py)",
        *(
            f"#   {name:<{width}}  sha256:{hashlib.sha256(text.encode()).hexdigest()[:16]}"
            for name, text in bundle.items()
        ),
        "set -eu",
        *(f"{key}={shlex.quote(str(value))}" for key, value in variables.items()),
    ]
    if variables:
        lines.append(f"export {' '.join(variables)}")
    lines += ["matra_files=$(mktemp -d)", "trap 'rm -rf \"$matra_files\"' EXIT"]
    for name, text in bundle.items():
        lines.append(f"cat >\"$matra_files/{name}\" <<'{_END}'\n{text}{_END}")
    lines.append(f'sh "$matra_files/{script}"')
    command = "\n".join(lines) + "\n"
    if len(command.encode()) > COMMAND_LIMIT:
        raise ValueError(
            f"the command for host/{script} is {len(command.encode())} bytes, over the "
            f"{COMMAND_LIMIT} a host's shell takes as one argument"
        )
    return command


@dataclass(frozen=True)
class HostStep:
    """What a command of ``host_command`` runs: the script, its parameters, its files."""

    script: str
    params: dict[str, str]
    files: dict[str, str]
    """Every file beside the script, the script and functions.sh among them."""

    @classmethod
    def read(cls, command: str) -> HostStep:
        """``host_command``'s inverse (for a reader of a preview's diff, and the tests)."""
        params: dict[str, str] = {}
        files: dict[str, str] = {}
        lines = iter(command.splitlines(keepends=True))
        for line in lines:
            if (found := re.fullmatch(r"(MATRA_[A-Z0-9_]+)=(.*)\n", line)) is not None:
                params[found.group(1)] = shlex.split(found.group(2))[0] if found.group(2) else ""
            elif found := re.fullmatch(rf"cat >\"\$matra_files/(.+)\" <<'{_END}'\n", line):
                text = ""
                for body in lines:
                    if body == f"{_END}\n":
                        break
                    text += body
                files[found.group(1)] = text
            elif (found := re.fullmatch(r'sh "\$matra_files/(.+)"\n', line)) is not None:
                return cls(found.group(1), params, files)
        raise ValueError("not a command of matra/hostfiles.py's host_command")


__all__ = ["HOST_DIR", "HostStep", "host_command", "host_file"]
