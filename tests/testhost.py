"""A real test host on this machine: sshd in its own network namespace, reached over a
veth pair with real SSH, with a private view of /etc, /opt, /home and /var (overlays in
its own mount namespace) so the scripts under test change nothing on this machine.

The host looks like an API droplet after cloud-init: a deploy user with passwordless
sudo whose authorized key is the test's "automation key", certbot installed, and
`cloud-init status --wait` returning at once.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

NEEDED = ("ip", "unshare", "sshd", "ssh", "ssh-keygen", "sudo", "useradd", "certbot")

SETUP = r"""
set -eu
work=$1; user=$2
mkdir -p "$work/ovl"
mount -t tmpfs tmpfs "$work/ovl"
for dir in etc opt home var; do
    mkdir -p "$work/ovl/up/$dir" "$work/ovl/work/$dir"
    mount -t overlay overlay \
        -o "lowerdir=/$dir,upperdir=$work/ovl/up/$dir,workdir=$work/ovl/work/$dir" "/$dir"
done
if [ -e /usr/bin/cloud-init ]; then mount --bind /bin/true /usr/bin/cloud-init; fi
useradd --create-home --shell /bin/bash "$user"
usermod -p '*' "$user"
install -d -m 0700 -o "$user" -g "$user" "/home/$user/.ssh"
install -m 0600 -o "$user" -g "$user" "$work/client.pub" "/home/$user/.ssh/authorized_keys"
echo "$user ALL=(ALL) NOPASSWD:ALL" > "/etc/sudoers.d/90-$user"
chmod 0440 "/etc/sudoers.d/90-$user"
mkdir -p /run/sshd
exec /usr/sbin/sshd -D -e -f "$work/sshd_config"
"""


class NamespaceHost:
    """Start with ``NamespaceHost().start()``; always ``stop()`` (a fixture does)."""

    def __init__(self, user: str = "deploy") -> None:
        self.user = user
        tag = f"{os.getpid() % 100000}"
        self.netns = f"matra-test-{tag}"
        self.veth = f"mth{tag}"
        subnet = os.getpid() % 250 + 1
        self.gateway = f"10.251.{subnet}.1"
        self.address = f"10.251.{subnet}.2"
        self.work = Path(tempfile.mkdtemp(prefix="matra-testhost-"))
        self._sshd: Optional[subprocess.Popen] = None

    @staticmethod
    def missing_tools() -> list[str]:
        return [tool for tool in NEEDED if shutil.which(tool) is None
                and not Path(f"/usr/sbin/{tool}").exists()]

    def _ip(self, *args: str, netns: bool = False) -> None:
        prefix = ["ip", "netns", "exec", self.netns] if netns else []
        subprocess.run([*prefix, "ip", *args], check=True, capture_output=True)

    def start(self) -> "NamespaceHost":
        keys = self.work
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(keys / "client")], check=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(keys / "host_key")], check=True)
        (self.work / "sshd_config").write_text(
            f"ListenAddress {self.address}\nPort 22\nHostKey {keys / 'host_key'}\n"
            f"PidFile {self.work / 'sshd.pid'}\nAuthorizedKeysFile .ssh/authorized_keys\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PermitRootLogin no\nUsePAM no\nStrictModes yes\nLogLevel ERROR\n")
        (self.work / "setup.sh").write_text(SETUP)

        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        self._ip("link", "add", self.veth, "type", "veth", "peer", "name", "eth0",
                 "netns", self.netns)
        self._ip("addr", "add", f"{self.gateway}/30", "dev", self.veth)
        self._ip("link", "set", self.veth, "up")
        self._ip("addr", "add", f"{self.address}/30", "dev", "eth0", netns=True)
        self._ip("link", "set", "eth0", "up", netns=True)
        self._ip("link", "set", "lo", "up", netns=True)

        log = open(self.work / "sshd.log", "wb")  # noqa: SIM115 (closed with the process)
        self._sshd = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, "unshare", "--mount", "--propagation",
             "private", "sh", str(self.work / "setup.sh"), str(self.work), self.user],
            stdout=log, stderr=subprocess.STDOUT)
        self._wait_for_sshd()
        return self

    def _wait_for_sshd(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._sshd is not None and self._sshd.poll() is not None:
                break
            try:
                with socket.create_connection((self.address, 22), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("test host sshd did not start: "
                           + (self.work / "sshd.log").read_text(errors="replace"))

    def ssh(self, command: str, stdin: str = "", timeout: float = 120
            ) -> subprocess.CompletedProcess:
        """Run ``command`` as the deploy user over real SSH, as pulumi-command does: the
        command string goes to the remote shell, ``stdin`` to its standard input."""
        return subprocess.run(
            ["ssh", "-i", str(self.work / "client"), "-o", "BatchMode=yes",
             "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
             f"{self.user}@{self.address}", command],
            input=stdin, capture_output=True, text=True, timeout=timeout, check=False)

    def stat(self, path: str) -> str:
        """'<octal mode> <owner> <group>' of a path on the host."""
        result = self.ssh(f"sudo stat -c '%a %U %G' {path}")
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def read(self, path: str) -> str:
        result = self.ssh(f"sudo cat {path}")
        assert result.returncode == 0, result.stderr
        return result.stdout

    def snapshot(self, *paths: str) -> dict[str, tuple[str, str]]:
        return {path: (self.stat(path), self.read(path)) for path in paths}

    def stop(self) -> None:
        if self._sshd is not None:
            self._sshd.terminate()
            try:
                self._sshd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._sshd.kill()
        subprocess.run(["ip", "link", "delete", self.veth], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "delete", self.netns], capture_output=True, check=False)
        shutil.rmtree(self.work, ignore_errors=True)
