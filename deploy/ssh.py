"""OpenSSH, run for the deploy command and its tests: every connection checks the host
key strictly against the stack's sshKnownHosts (nothing is sent to a host that presents
another key), and a failure is one line naming the host. The deploy key and the known
hosts reach ssh from memory (``credentials``): no key file is ever written, so no exit,
however abrupt, leaves one behind."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SERVER_ALIVE_SECONDS = 5
"""ssh asks the host every 5 s and gives a connection up after 3 unanswered asks (the
host's sshd keeps the deploy user's sessions the same way: host setup's ClientAlive
settings)."""


class SshError(Exception):
    """A connection that failed before or while running; the message is one line."""


class HostKeyMismatchError(SshError):
    """The host presented a key other than its sshKnownHosts entry: nothing was sent."""


class UnreachableError(SshError):
    """No SSH connection could be made (refused, timed out, no route), or it was lost."""


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


@contextlib.contextmanager
def credentials(key: str, known_hosts: str) -> Iterator[tuple[str, str]]:
    """(key path, known_hosts path) for as long as the block runs. On Linux both live in
    anonymous memory (memfd, mode 0600) that ssh opens as /proc/<this process>/fd/N (ssh
    closes the descriptors it inherits) and that ends with this process, however it ends.
    Elsewhere they are files in a 0700 temporary directory, removed when the block ends
    (but not if the process is killed outright)."""
    if hasattr(os, "memfd_create"):
        descriptors: list[int] = []
        try:
            for name, text in (("deploy-key", key), ("known-hosts", known_hosts)):
                descriptor = os.memfd_create(f"matra-{name}", os.MFD_CLOEXEC)
                descriptors.append(descriptor)
                os.fchmod(descriptor, 0o600)
                data = text.encode()
                while data:
                    data = data[os.write(descriptor, data) :]
            key_fd, hosts_fd = descriptors
            yield f"/proc/{os.getpid()}/fd/{key_fd}", f"/proc/{os.getpid()}/fd/{hosts_fd}"
        finally:
            for descriptor in descriptors:
                os.close(descriptor)
        return
    with tempfile.TemporaryDirectory(prefix="matra-deploy-") as work:
        key_file, hosts_file = Path(work) / "deploy-key", Path(work) / "known_hosts"
        key_file.touch(mode=0o600)
        key_file.write_text(key)
        hosts_file.write_text(known_hosts)
        yield str(key_file), str(hosts_file)


@dataclass(frozen=True)
class SshClient:
    """``ssh`` as ``user`` with the key at ``key_file``, trusting only ``known_hosts``."""

    user: str
    key_file: str
    known_hosts: str
    connect_timeout: int = 10

    def options(self) -> list[str]:
        return [
            "-i", self.key_file,
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", f"ConnectTimeout={self.connect_timeout}",
            "-o", f"ServerAliveInterval={SERVER_ALIVE_SECONDS}",
            "-o", "ServerAliveCountMax=3",
            "-o", "LogLevel=ERROR",
        ]  # fmt: skip

    def argv(self, target: Target, argv: Sequence[str]) -> list[str]:
        # Each argument shell-quoted: nothing reaches the remote side unquoted.
        remote = " ".join(shlex.quote(arg) for arg in argv)
        return ["ssh", *self.options(), f"{self.user}@{target.address}", remote]

    def run(
        self, target: Target, argv: Sequence[str], *, stdin: str = "", timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` on ``target``. A connection failure raises; the command's own exit
        status is the caller's to read."""
        try:
            result = subprocess.run(
                self.argv(target, argv),
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except OSError as error:  # no OpenSSH client on PATH, or it can't be run
            raise SshError(f"{target}: can't run ssh ({error.strerror or error})") from None
        if result.returncode == 255:
            raise connection_error(target, result.stderr)
        return result

    def start(self, target: Target, argv: Sequence[str]) -> subprocess.Popen[str]:
        """``argv`` on ``target``, running: its standard input stays open (the session
        the host watches: closing it ends the host's run), and it is in a session of its
        own, so a Ctrl-C at the terminal reaches this command, not the connection."""
        try:
            return subprocess.Popen(
                self.argv(target, argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except OSError as error:
            raise SshError(f"{target}: can't run ssh ({error.strerror or error})") from None


def connection_error(target: Target, stderr: str) -> SshError:
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
