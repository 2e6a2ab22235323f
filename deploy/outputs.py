"""The stack outputs the deploy command reads (`pulumi stack output --json --show-secrets`),
checked whole before any host is reached: each problem is one line naming the output."""

from __future__ import annotations

import ipaddress
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matra_data.docker import name_problem

from .ssh import Target

PROJECT = "matra-infra"
HIDDEN_SECRET = "[secret]"
"""What `pulumi stack output --json` prints for a secret without --show-secrets."""


class OutputsError(Exception):
    """The outputs can't be deployed from; the message is one line."""


@dataclass(frozen=True)
class DeployOutputs:
    stack: str
    image: str
    """The app's image without a tag (appImage)."""
    user: str
    """The deploy user (deployUser)."""
    private_key: str | None
    """The deploy key (deploySshPrivateKey); None when the stack was given its own."""
    known_hosts: str
    """known_hosts lines of every host (sshKnownHosts)."""
    targets: tuple[Target, ...]
    """The API hosts in index order (deployTargets)."""
    detection_seconds: int
    """How long the load balancer takes to take a failing host out: its health check's
    unhealthy threshold x interval (healthCheck)."""


def read(source: str) -> dict[str, Any]:
    """The outputs JSON object from a file, or from standard input for ``-``."""
    where = "standard input" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OutputsError(f"--outputs {source}: no such file") from None
    except IsADirectoryError:
        raise OutputsError(f"--outputs {source}: a directory, not a file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise OutputsError(f"--outputs {source}: can't be read ({error})") from None
    if not text.strip():
        raise OutputsError(
            f"--outputs {where}: empty; give it `pulumi stack output --json --show-secrets`"
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise OutputsError(
            f"--outputs {where}: not JSON ({error.msg} at line {error.lineno} column "
            f"{error.colno}); give it `pulumi stack output --json --show-secrets`"
        ) from None
    if not isinstance(data, dict):
        raise OutputsError(
            f"--outputs {where}: a JSON {type(data).__name__}, not the object "
            "`pulumi stack output --json` prints"
        )
    return data


def parse(data: dict[str, Any]) -> DeployOutputs:
    """Check every output the deploy needs; the first problem raises OutputsError."""
    project = data.get("project")
    if project != PROJECT:
        raise OutputsError(
            f"outputs: project is {project!r}, not {PROJECT!r}: these are another program's outputs"
            if project is not None
            else f"outputs: no project output: not the outputs of {PROJECT} (or of a stack "
            "not updated since the deploy command came; run pulumi up first)"
        )
    stack = _string(data, "stack")
    image = _string(data, "appImage")
    problem = name_problem(image)
    if problem:
        raise OutputsError(f"outputs: appImage {image!r} is {problem}")
    user = _string(data, "deployUser")
    known_hosts = _string(data, "sshKnownHosts")
    private_key = data.get("deploySshPrivateKey")
    if private_key is not None:
        if private_key == HIDDEN_SECRET:
            raise OutputsError(
                "outputs: deploySshPrivateKey is hidden ('[secret]'): use "
                "`pulumi stack output --json --show-secrets`"
            )
        if not isinstance(private_key, str) or not is_private_key(private_key):
            raise OutputsError("outputs: deploySshPrivateKey is not an OpenSSH private key")
    return DeployOutputs(
        stack=stack,
        image=image,
        user=user,
        private_key=private_key,
        known_hosts=known_hosts,
        targets=_targets(data),
        detection_seconds=_detection_seconds(data),
    )


def is_private_key(text: str) -> bool:
    """Whether ``text`` holds a PEM or OpenSSH private key (what ssh -i reads)."""
    return "PRIVATE KEY" in text


def _string(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        raise OutputsError(f"outputs: no {key} (run pulumi up for this stack first)")
    if value == HIDDEN_SECRET:
        raise OutputsError(
            f"outputs: {key} is hidden ('[secret]'): use "
            "`pulumi stack output --json --show-secrets`"
        )
    if not isinstance(value, str) or not value.strip():
        raise OutputsError(f"outputs: {key} is {value!r}, not a non-empty string")
    return value


def _targets(data: dict[str, Any]) -> tuple[Target, ...]:
    targets = data.get("deployTargets")
    if targets is None:
        raise OutputsError(
            "outputs: no deployTargets: nothing to deploy to (run pulumi up for this stack first)"
        )
    if not isinstance(targets, list) or not targets:
        raise OutputsError(
            f"outputs: deployTargets is {targets!r}, not a list of {{name, ip}} (one per host)"
        )
    found: list[Target] = []
    for index, entry in enumerate(targets):
        name = entry.get("name") if isinstance(entry, dict) else None
        address = entry.get("ip") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not isinstance(address, str) or not _ipv4(address):
            raise OutputsError(
                f"outputs: deployTargets[{index}] is {entry!r}, not {{name, ip}} with an IPv4"
            )
        found.append(Target(name=name, address=address))
    names = [target.name for target in found]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise OutputsError(f"outputs: deployTargets names {duplicates[0]!r} twice")
    return tuple(found)


def _detection_seconds(data: dict[str, Any]) -> int:
    check = data.get("healthCheck")
    if check is None:
        raise OutputsError("outputs: no healthCheck (run pulumi up for this stack first)")
    numbers = [check.get(key) if isinstance(check, dict) else None for key in _CHECK_KEYS]
    if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in numbers):
        raise OutputsError(
            f"outputs: healthCheck is {check!r}, not an object with whole numbers "
            f"{' and '.join(_CHECK_KEYS)} above 0"
        )
    threshold, interval = (int(number) for number in numbers if isinstance(number, int))
    return threshold * interval


_CHECK_KEYS = ("unhealthy_threshold", "interval_seconds")


def _ipv4(address: str) -> bool:
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        return False
    return True
