"""A real test host on this machine: sshd in its own network namespace, reached over a
veth pair with real SSH, with a private view of /etc, /opt, /home, /var, /run and
/usr (overlays in its own mount namespace) so the scripts under test change
nothing on this machine, and its own PID namespace, so what it starts (nginx, redis) is
its own and goes away with it.

The host looks like an API droplet after cloud-init: an ops user with passwordless sudo
whose authorized key is the test's "automation key", a deploy user without sudo (its own
key), certbot and nginx installed,
`cloud-init status --wait` returning at once, and a `systemctl` stand-in (there is no
systemd here) that reloads nginx when asked to.

``PebbleAcme`` adds Let's Encrypt's test ACME server (Pebble, built from the Go module
proxy by `make test-tools`) and its DNS stand-in inside the same network namespace, on
its loopback: certbot on the host gets a real certificate over HTTP-01.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import tools

NEEDED = (
    "ip",
    "unshare",
    "sshd",
    "ssh",
    "ssh-keygen",
    "sudo",
    "useradd",
    "certbot",
    "nginx",
    "curl",
    "redis-server",
    "redis-cli",
)
OVERLAID = ("etc", "opt", "home", "var", "run", "usr")
TEST_RANGE = "10.251.0.0/16"
"""Every test host's addresses (10.251.N.0/30) and the deploy rig's hub (10.251.0.1)."""
NAMESPACE_PREFIX = "matra-test-"
STARTED = time.time()
"""When this process began: a work directory made since is its own (a host or the rig's
part made before it started), never a dead run's."""

# Stand-ins for what the host's init system would do.
SYSTEMCTL = """#!/bin/sh
# Test host stand-in for systemctl: no systemd runs here. What the host scripts ask of it.
nginx_running() { [ -f /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; }
case "$1 ${2:-}" in
    "reload nginx") exec nginx -s reload ;;
    "reload-or-restart nginx")
        if nginx_running; then exec nginx -s reload; else exec nginx; fi ;;
    "try-reload-or-restart nginx")
        if nginx_running; then exec nginx -s reload; fi; exit 0 ;;
    # sshd is this host's first process; SIGHUP makes it read its configuration again.
    "try-reload-or-restart ssh.service" | "reload ssh" | "reload ssh.service") exec kill -HUP 1 ;;
    "restart rsyslog" | "restart rsyslog.service")
        # As on a droplet, where systemd's syslog.socket holds /run/systemd/journal/syslog
        # (where journald forwards): that socket exists before rsyslogd starts.
        if [ -f /run/rsyslogd.pid ]; then
            pid=$(cat /run/rsyslogd.pid)
            kill "$pid" 2>/dev/null || true
            tries=0
            while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 200 ]; do
                tries=$((tries + 1)); sleep 0.1
            done
        fi
        python3 -c 'import os, socket; p = "/run/systemd/journal/syslog"
if os.path.exists(p): os.unlink(p)
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(p)'
        exec rsyslogd ;;
    "restart redis-server")
        # By its pid file (the host's own /run): never a redis-server of the machine itself.
        if [ -f /run/redis/redis-server.pid ]; then
            kill "$(cat /run/redis/redis-server.pid)" 2>/dev/null || true
            sleep 0.5
        fi
        install -d -o redis -g redis /run/redis
        exec setpriv --reuid=redis --regid=redis --clear-groups \\
            redis-server /etc/redis/redis.conf --daemonize yes ;;
esac
exit 0
"""
CLOUD_INIT = """#!/bin/sh
# Test host stand-in: first boot is long finished (and failed, if a test says so).
if [ -e /etc/matra-test-first-boot-failed ]; then exit 1; fi
exit 0
"""

SETUP = r"""
set -eu
work=$1; user=$2; deploy=$3; docker=$4; registry=$5; netns=$6; syslog=$7
mkdir -p "$work/ovl"
mount -t tmpfs tmpfs "$work/ovl"
for dir in @OVERLAID@; do
    name=$(echo "$dir" | tr / _)
    mkdir -p "$work/ovl/up/$name" "$work/ovl/work/$name"
    mount -t overlay overlay \
        -o "lowerdir=/$dir,upperdir=$work/ovl/up/$name,workdir=$work/ovl/work/$name" "/$dir"
done
install -m 0755 "$work/systemctl" /usr/local/sbin/systemctl
install -m 0755 "$work/cloud-init" /usr/local/bin/cloud-init
if [ -f "$work/extra-ca.pem" ]; then
    cat "$work/extra-ca.pem" >> /etc/ssl/certs/ca-certificates.crt
fi
for account in "$user" "$deploy"; do
    useradd --create-home --shell /bin/bash "$account"
    usermod -p '*' "$account"
    install -d -m 0700 -o "$account" -g "$account" "/home/$account/.ssh"
    install -m 0600 -o "$account" -g "$account" "$work/$account.pub" \
        "/home/$account/.ssh/authorized_keys"
done
echo "$user ALL=(ALL) NOPASSWD:ALL" > "/etc/sudoers.d/90-$user"
chmod 0440 "/etc/sudoers.d/90-$user"
mkdir -p /run/sshd
if [ "$syslog" = yes ]; then
    # journald as on a droplet (its sockets in this host's /run, its journal in
    # /run/log/journal), before anything logs to it. This host has no kernel log of its
    # own: rsyslog leaves /proc/kmsg to this machine.
    /lib/systemd/systemd-journald >/var/log/journald.log 2>&1 &
    tries=0
    until [ -S /run/systemd/journal/socket ]; do
        tries=$((tries + 1))
        if [ "$tries" -gt 100 ]; then echo "journald did not start" >&2; exit 1; fi
        sleep 0.1
    done
    sed -i 's/^module(load="imklog"/#&/' /etc/rsyslog.conf
fi
if [ "$docker" = yes ]; then
    # Docker's engine as on a droplet (this host's own /var/lib/docker and socket), in
    # what this machine allows: vfs storage, no default bridge, no iptables.
    install -d /usr/local/lib/docker/cli-plugins /etc/docker
    install -m 0755 "$work/docker-compose" /usr/local/lib/docker/cli-plugins/docker-compose
    printf '{"deprecated-key-path": "/etc/docker/key.json"}\n' > /etc/docker/daemon.json
    dockerd --storage-driver vfs --bridge=none --iptables=false --ip-masq=false \
        --exec-opt native.cgroupdriver=cgroupfs \
        --cgroup-parent "$netns" ${registry:+--insecure-registry "$registry"} \
        >/var/log/dockerd.log 2>&1 &
    tries=0
    until docker version >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -gt 300 ]; then
            echo "dockerd did not start" >&2
            tail /var/log/dockerd.log >&2
            exit 1
        fi
        sleep 0.1
    done
fi
if [ "$syslog" = yes ]; then
    # systemd "runs" (sd_booted) from here on, as on a droplet: rsyslog listens where
    # journald forwards. (Docker's engine keeps the cgroupfs driver it was given.)
    mkdir -p /run/systemd/system
    systemctl restart rsyslog
fi
exec /usr/sbin/sshd -D -e -f "$work/sshd_config"
"""


class NamespaceHost:
    """Start with ``NamespaceHost().start()``; always ``stop()`` (a fixture does)."""

    _count = 0

    def __init__(
        self,
        user: str = "ops",
        deploy_user: str = "deploy",
        extra_ca: Path | None = None,
        host_key: str | None = None,
        docker: bool = False,
        syslog: bool = False,
        hub: str | None = None,
    ) -> None:
        """``host_key``: the OpenSSH private key sshd presents (as cloud-init installs the
        program's); a fresh one if None. ``docker``: run Docker's engine (with the compose
        plugin) inside the host. ``syslog``: run journald and rsyslog as on a droplet
        (Debian's rsyslog configuration; ``systemctl restart rsyslog`` restarts it).
        ``hub``: an address of this machine the host reaches through its gateway (where
        the test registry and load balancer listen)."""
        self.docker = docker
        self.syslog = syslog
        self.hub = hub
        self.user = user
        self.deploy_user = deploy_user
        self.netns = ""
        self.work = Path(tempfile.mkdtemp(prefix="matra-testhost-"))
        self.extra_ca = extra_ca
        self.host_key = host_key
        self._sshd: subprocess.Popen | None = None

    def _claim_namespace(self) -> None:
        """The first free test host number: `ip netns add` is the atomic claim, so hosts
        started by parallel test processes never share a name or a subnet."""
        for number in range(1, 251):
            claimed = subprocess.run(
                ["ip", "netns", "add", f"{NAMESPACE_PREFIX}{number}"],
                capture_output=True,
                check=False,
            )
            if claimed.returncode == 0:
                self.netns, self.veth = f"{NAMESPACE_PREFIX}{number}", f"mth{number}"
                self.gateway, self.address = f"10.251.{number}.1", f"10.251.{number}.2"
                return
        raise RuntimeError("no free test host number (250 network namespaces named matra-test-*)")

    @staticmethod
    def missing_tools() -> list[str]:
        return [
            tool
            for tool in NEEDED
            if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists()
        ]

    def _ip(self, *args: str, netns: bool = False) -> None:
        prefix = ["ip", "netns", "exec", self.netns] if netns else []
        subprocess.run([*prefix, "ip", *args], check=True, capture_output=True)

    def start(self) -> NamespaceHost:
        enter_test_range()
        try:
            self._claim_namespace()
        except BaseException:
            leave_test_range()
            raise
        hold_test_range()
        keys = self.work
        for account in (self.user, self.deploy_user):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / account)],
                check=True,
            )
        if self.host_key is None:
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "host_key")],
                check=True,
            )
        else:
            (keys / "host_key").write_text(self.host_key)
            (keys / "host_key").chmod(0o600)
        (self.work / "sshd_config").write_text(
            # As on Ubuntu: drop-in files first (HostSetup writes the deploy user's there).
            "Include /etc/ssh/sshd_config.d/*.conf\n"
            f"ListenAddress {self.address}\nPort 22\nHostKey {keys / 'host_key'}\n"
            f"PidFile {self.work / 'sshd.pid'}\nAuthorizedKeysFile .ssh/authorized_keys\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PermitRootLogin no\nUsePAM no\nStrictModes yes\nLogLevel ERROR\n"
        )
        (self.work / "setup.sh").write_text(SETUP.replace("@OVERLAID@", " ".join(OVERLAID)))
        (self.work / "systemctl").write_text(SYSTEMCTL)
        (self.work / "cloud-init").write_text(CLOUD_INIT)
        if self.extra_ca is not None:
            shutil.copy(self.extra_ca, self.work / "extra-ca.pem")
        if self.docker:
            shutil.copy(tools.require("compose", "docker-compose"), self.work / "docker-compose")

        self._ip(
            "link", "add", self.veth, "type", "veth", "peer", "name", "eth0", "netns", self.netns
        )
        self._ip("addr", "add", f"{self.gateway}/30", "dev", self.veth)
        self._ip("link", "set", self.veth, "up")
        self._ip("addr", "add", f"{self.address}/30", "dev", "eth0", netns=True)
        self._ip("link", "set", "eth0", "up", netns=True)
        self._ip("link", "set", "lo", "up", netns=True)
        if self.hub is not None:
            # The hub is one of this machine's own addresses: no forwarding needed.
            self._ip("route", "add", f"{self.hub}/32", "via", self.gateway, netns=True)

        log = open(self.work / "sshd.log", "wb")  # noqa: SIM115 (closed with the process)
        # nsenter, not `ip netns exec`: that mounts a sysfs of its own, without the cgroup
        # hierarchies Docker's engine needs.
        self._sshd = subprocess.Popen(
            [
                "nsenter",
                f"--net=/run/netns/{self.netns}",
                "unshare",
                "--mount",
                "--pid",
                "--fork",
                "--kill-child",
                "--mount-proc",
                "--propagation",
                "private",
                "sh",
                str(self.work / "setup.sh"),
                str(self.work),
                self.user,
                self.deploy_user,
                "yes" if self.docker else "no",
                f"{self.hub}:5000" if self.hub else "",
                self.netns,
                "yes" if self.syslog else "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._wait_for_sshd()
        return self

    def host_public_key(self) -> str:
        """The key sshd presents now (ssh-ed25519 AAAA...)."""
        result = subprocess.run(
            ["ssh-keygen", "-y", "-f", str(self.work / "host_key")],
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()

    def rekey(self) -> str:
        """sshd, at the same address, now presents another host key (returned): what a
        recycled address or an impostor looks like."""
        before = self.host_public_key()
        (self.work / "host_key").unlink()
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.work / "host_key")],
            check=True,
        )
        # SIGHUP: sshd re-executes itself and reads its host keys again.
        subprocess.run(["kill", "-HUP", str(self._sshd_pid())], check=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            scan = subprocess.run(
                ["ssh-keyscan", "-t", "ed25519", "-T", "2", self.address],
                capture_output=True,
                text=True,
                check=False,
            )
            if scan.stdout.strip() and before.split()[1] not in scan.stdout:
                return self.host_public_key()
            time.sleep(0.2)
        raise RuntimeError("sshd did not take the new host key")

    def _sshd_pid(self) -> int:
        """The listening sshd (the host's first process), as this machine numbers it."""
        for pid in subprocess.run(
            ["ip", "netns", "pids", self.netns], capture_output=True, text=True, check=True
        ).stdout.split():
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            # It titles itself "sshd: ... [listener]"; a connection's sshd runs with -R.
            listener = b"[listener]" in cmdline[0] or (
                cmdline[0].endswith(b"sshd") and b"-D" in cmdline and b"-R" not in cmdline
            )
            if listener:
                return int(pid)
        raise RuntimeError(f"no sshd in {self.netns}")

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
        raise RuntimeError(
            "test host sshd did not start: " + (self.work / "sshd.log").read_text(errors="replace")
        )

    def link(self, *, up: bool) -> None:
        """This machine's end of the host's link up or down: the host drops off the network
        (and comes back), as a droplet does when its hypervisor's network fails."""
        self._ip("link", "set", self.veth, "up" if up else "down")

    def drop_ssh(self, *, dropped: bool) -> None:
        """Every SSH packet to and from the host dropped silently (or no longer), inside its
        namespace: SSH sessions hang as on a lost network path, HTTP keeps flowing."""
        action = "-I" if dropped else "-D"
        for chain, port in (("INPUT", "--dport"), ("OUTPUT", "--sport")):
            done = self.netns_exec("iptables", action, chain, "-p", "tcp", port, "22", "-j", "DROP")
            assert done.returncode == 0, done.stderr

    def netns_exec(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run a command in the host's network namespace (not its mount namespace)."""
        return subprocess.run(
            ["ip", "netns", "exec", self.netns, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def spawn(self, *command: str, log: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start a long-running process in the host's network namespace."""
        out = open(self.work / log, "wb")  # noqa: SIM115 (closed with the process)
        return subprocess.Popen(
            ["ip", "netns", "exec", self.netns, *command],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )

    def ssh(
        self, command: str, stdin: str = "", timeout: float = 120, user: str | None = None
    ) -> subprocess.CompletedProcess:
        """Run ``command`` over real SSH as pulumi-command does (the command string goes
        to the remote shell, ``stdin`` to its standard input), as the ops user unless
        ``user`` names the deploy user."""
        user = user or self.user
        return subprocess.run(
            [
                "ssh",
                "-i",
                str(self.work / user),
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "ConnectTimeout=5",
                "-o",
                "LogLevel=ERROR",
                f"{user}@{self.address}",
                command,
            ],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

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
        if not self.netns:  # never got as far as its namespace
            shutil.rmtree(self.work, ignore_errors=True)
            return
        # Everything started in the namespace (sshd, nginx, Pebble, the app stand-in).
        pids = (
            subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True, check=False)
            .stdout.decode(errors="replace")
            .split()
        )
        for pid in pids:
            subprocess.run(["kill", pid], capture_output=True, check=False)
        if self._sshd is not None:
            try:
                self._sshd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._sshd.kill()  # unshare --kill-child takes the namespace's tree with it
                self._sshd.wait()
            self._sshd = None
        subprocess.run(["ip", "link", "delete", self.veth], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "delete", self.netns], capture_output=True, check=False)
        if self.docker:
            remove_cgroups(self.netns)
        release_test_range()
        leave_test_range()
        # Stopped: a second stop() must not reach a namespace of the same name that a new
        # host has claimed since.
        self.netns = ""
        shutil.rmtree(self.work, ignore_errors=True)


RIG_LOCK = Path("/run/lock/matra-test-range.lock")
_lock: int | None = None
_users = 0


def enter_test_range() -> list[str]:
    """Before a process starts anything in the test range (a host, the rig's hub): a
    shared lock on ``RIG_LOCK`` while it has anything there (the kernel drops it when the
    process dies, even by SIGKILL). The first to enter takes it exclusively first when it
    can: no live process then has anything in the range, so whatever a killed run left
    there (namespaces, their veths and cgroups, the hub's address, daemons listening in
    the range) is removed first; returns what was. (Not work directories: a process
    makes its own before it enters, and what a killed run left there is inert.)"""
    global _lock, _users
    _users += 1
    if _lock is not None:
        return []
    RIG_LOCK.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(RIG_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    swept: list[str] = []
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pass  # a live process has test hosts: the range is theirs as it is
    else:
        swept = sweep_test_range()
    fcntl.flock(fd, fcntl.LOCK_SH)
    _lock = fd
    return swept


def leave_test_range() -> None:
    """The other half of ``enter_test_range``: the lock goes with this process's last
    thing in the range."""
    global _lock, _users
    _users -= 1
    if _users == 0 and _lock is not None:
        os.close(_lock)
        _lock = None


def sweep_test_range() -> list[str]:
    """Remove what a test run that died left in the test range; returns what it found.
    Only with ``RIG_LOCK`` held exclusively (``enter_test_range``)."""
    found: list[str] = []

    def run(*command: str) -> str:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout

    for name in run("ip", "netns", "list").split():
        if not name.startswith(NAMESPACE_PREFIX):
            continue
        found.append(f"namespace {name}")
        for pid in run("ip", "netns", "pids", name).split():
            run("kill", "-9", pid)
        run("ip", "link", "delete", "mth" + name.removeprefix(NAMESPACE_PREFIX))
        run("ip", "netns", "delete", name)
        remove_cgroups(name)
    for line in run("ip", "-o", "-4", "addr", "show", "dev", "lo").splitlines():
        address = re.search(r"inet (10\.251\.[0-9.]+/[0-9]+)", line)
        if address:
            found.append(f"address {address[1]} on lo")
            run("ip", "addr", "del", address[1], "dev", "lo")
    # The rig's registry and load balancer listen on the hub's address.
    for line in run("ss", "-Hltnp").splitlines():
        if re.search(r"\s10\.251\.[0-9.]+:[0-9]+\s", line):
            for pid in re.findall(r"pid=([0-9]+)", line):
                found.append(f"listener pid {pid}")
                run("kill", "-9", pid)
    run("ip", "route", "delete", "unreachable", TEST_RANGE)
    return found


def hold_test_range() -> None:
    """Nothing addressed to the test range leaves this machine: an unreachable route for
    all of it, under the hosts' own (more specific) /30s. A host whose link is down, or an
    address no host holds, gets "no route to host" here instead of going out by the
    default route. Idempotent; taken away by the last host's ``stop``."""
    subprocess.run(
        ["ip", "route", "replace", "unreachable", TEST_RANGE], check=True, capture_output=True
    )


def release_test_range() -> None:
    """The range's unreachable route goes once no test host is left."""
    names = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=False
    ).stdout.split()
    if not any(name.startswith(NAMESPACE_PREFIX) for name in names):
        subprocess.run(
            ["ip", "route", "delete", "unreachable", TEST_RANGE], capture_output=True, check=False
        )


def remove_cgroups(name: str) -> None:
    """The empty cgroups Docker's engine made under ``name`` (its --cgroup-parent, below
    this process's own cgroup) outlive it: remove them, deepest first."""
    found = subprocess.run(
        ["find", "/sys/fs/cgroup", "-maxdepth", "6", "-type", "d", "-name", name],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    for top in found:
        subprocess.run(
            ["find", top, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"],
            capture_output=True,
            check=False,
        )


def wait_for_port(host: NamespaceHost, port: int, seconds: float = 20) -> None:
    """Wait until something listens on 127.0.0.1:<port> inside the host's namespace."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        probe = host.netns_exec("bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}")
        if probe.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} in {host.netns}")


class PebbleAcme:
    """Pebble and pebble-challtestsrv on the test host's loopback. Every name resolves
    to 127.0.0.1 (the host itself), so HTTP-01 validation reaches the host's nginx."""

    def __init__(self) -> None:
        pebble = tools.require("pebble", "pebble")
        self.bin = pebble.parent
        self.certs = pebble.parent.parent / "certs"
        self.directory_url = "https://localhost:14000/dir"

    @property
    def ca(self) -> Path:
        """The CA of Pebble's own HTTPS endpoints (not of the certificates it issues)."""
        return self.certs / "pebble.minica.pem"

    def start(self, host: NamespaceHost) -> PebbleAcme:
        config = {
            "pebble": {
                "listenAddress": "127.0.0.1:14000",
                "managementListenAddress": "127.0.0.1:15000",
                "certificate": str(self.certs / "localhost" / "cert.pem"),
                "privateKey": str(self.certs / "localhost" / "key.pem"),
                "httpPort": 80,
                "tlsPort": 443,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        (host.work / "pebble.json").write_text(json.dumps(config))
        host.spawn(
            str(self.bin / "pebble-challtestsrv"),
            "-defaultIPv4",
            "127.0.0.1",
            "-defaultIPv6",
            "",
            "-dnsserver",
            "127.0.0.1:8053",
            "-http01",
            "",
            "-https01",
            "",
            "-tlsalpn01",
            "",
            "-doh",
            "",
            "-management",
            "127.0.0.1:8055",
            log="challtestsrv.log",
        )
        # No random nonce rejections or validation delays: a test, not a soak.
        host.spawn(
            str(self.bin / "pebble"),
            "-config",
            str(host.work / "pebble.json"),
            "-dnsserver",
            "127.0.0.1:8053",
            log="pebble.log",
            env={"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"},
        )
        wait_for_port(host, 8053)
        wait_for_port(host, 14000)
        return self

    def root_certificate(self, host: NamespaceHost) -> str:
        """The root that Pebble's issued certificates chain to (made at its start)."""
        result = host.netns_exec(
            "curl", "-sS", "--cacert", str(self.ca), "https://127.0.0.1:15000/roots/0"
        )
        assert result.returncode == 0, result.stderr
        return result.stdout
