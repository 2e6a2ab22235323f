"""OpenSSH, run for the deploy command and its tests: every connection checks the host
key strictly against the stack's sshKnownHosts (nothing is sent to a host that presents
another key), and a failure is one line naming the host."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class SshError(Exception):
    """A connection that failed before or while running; the message is one line."""


class HostKeyMismatchError(SshError):
    """The host presented a key other than its sshKnownHosts entry: nothing was sent."""


class UnreachableError(SshError):
    """No SSH connection could be made (refused, timed out, no route)."""


class LoginRefusedError(SshError):
    """The host refused the key (or the user)."""


@dataclass(frozen=True)
class Target:
    name: str
    """The droplet's name (matra-prod-api-0), as in deployTargets and sshKnownHosts."""
    address: str
    """Its public IPv4."""

    def __str__(self) -> str:
        return f"{self.name} ({self.address})"


@dataclass(frozen=True)
class SshClient:
    """``ssh`` as ``user`` with ``key_file`` (0600), trusting only ``known_hosts``."""

    user: str
    key_file: Path
    known_hosts: Path
    connect_timeout: int = 10

    def options(self) -> list[str]:
        return [
            "-i", str(self.key_file),
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", f"ConnectTimeout={self.connect_timeout}",
            "-o", "ServerAliveInterval=15",
            "-o", "LogLevel=ERROR",
        ]  # fmt: skip

    def run(
        self, target: Target, argv: Sequence[str], *, stdin: str = "", timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` on ``target`` (each argument shell-quoted: nothing reaches the remote
        shell unquoted). A connection failure raises; the command's own exit status is the
        caller's to read."""
        remote = " ".join(shlex.quote(arg) for arg in argv)
        try:
            result = subprocess.run(
                ["ssh", *self.options(), f"{self.user}@{target.address}", remote],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except OSError as error:  # no OpenSSH client on PATH, or it can't be run
            raise SshError(f"{target}: can't run ssh ({error.strerror or error})") from None
        if result.returncode == 255:
            raise _connection_error(target, result.stderr)
        return result


def _connection_error(target: Target, stderr: str) -> SshError:
    text = stderr.lower()
    if "host key verification failed" in text or "host identification has changed" in text:
        return HostKeyMismatchError(
            f"{target}: its SSH host key is not the one in sshKnownHosts; refused to "
            "connect, nothing was sent"
        )
    if "permission denied" in text:
        return LoginRefusedError(
            f"{target}: refused the deploy key ({last_line(stderr) or 'no message'})"
        )
    return UnreachableError(f"{target}: unreachable over SSH ({last_line(stderr) or 'no message'})")


def last_line(text: str) -> str:
    """The last line of ``text`` that says something ("" when none does)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
