"""The deploy rig: what stands around the API hosts in production, made of real parts on
this machine, for the deploy tests and scripts/bench-deploy.py.

- ``Hub``: an address of this machine (10.251.0.1, on its loopback) that every test
  host reaches through its gateway; the registry and the load balancer listen there.
- ``Registry``: Debian's docker-registry (the distribution project's) standing in for
  DigitalOcean's, with htpasswd auth, so hosts pull with delivered credentials.
- ``build_images``: the app's test releases, built from Debian's busybox-static with
  `docker import` on a builder host and pushed (nothing can be pulled from the internet
  here): each serves its release at /version and passes its health path, but a broken
  one, which has no health path.
- ``LoadBalancer``: Debian's HAProxy with the stack's health check (path, interval,
  thresholds from the ``healthCheck`` output), and no retries: a request a host fails is
  a failed request.
- ``Load``: clients sending requests for the whole deploy, counting every failure.
- ``ApiHost``: a test host set up by the program's own host-setup scripts (rendered from
  the stack's settings), with its secrets delivered on stdin as pulumi-command does.

All of it is started by a test and stopped after; nothing listens beyond this machine's
test addresses."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import http.client
import io
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

import tools
from harness import ROOT, run_program, stack_config
from matra.hostsetup import HostContract, env_file
from matra.ssh import known_hosts_line
from testhost import (
    NamespaceHost,
    enter_test_range,
    hold_test_range,
    leave_test_range,
    release_test_range,
)

HUB_ADDRESS = "10.251.0.1"
NOWHERE = "10.251.0.9"
"""A test address nothing answers at: inside the test range, routed as unreachable."""
REGISTRY_PORT = 5000
BALANCER_PORT = 8080
APP_PORT = 8080
REPOSITORY = "matra/api"
QUICK = ("--canary-watch", "3", "--watch", "1")
ON_TEST_HOSTS = [
    pytest.mark.host,
    pytest.mark.skipif(
        bool(NamespaceHost.missing_tools()),
        reason=f"test host tools missing: {NamespaceHost.missing_tools()}",
    ),
]
"""A module's marks when its tests run on the rig: the host tier, skipped without the
test hosts' tools."""
"""Short watches, for deploys that set a test up rather than show the watch."""


class Hub:
    """10.251.0.1 on this machine's loopback: local, so a test host's /32 route through
    its gateway reaches it with no forwarding; taken away again by ``stop``. Adding the
    address is the claim: a second rig on this machine fails at once. The whole test
    range is routed as unreachable while it stands (``testhost.hold_test_range``), so an
    address nothing holds (``NOWHERE``) or a host whose link is down gets "no route to
    host" here, never the default route."""

    address = HUB_ADDRESS

    def start(self) -> Hub:
        enter_test_range()
        claimed = subprocess.run(
            ["ip", "addr", "add", f"{HUB_ADDRESS}/32", "dev", "lo"],
            capture_output=True,
            text=True,
            check=False,
        )
        if claimed.returncode != 0:
            leave_test_range()
            raise RuntimeError(
                f"can't add {HUB_ADDRESS} to lo ({claimed.stderr.strip()}): another deploy "
                f"rig runs, or one was left behind (ip addr del {HUB_ADDRESS}/32 dev lo)"
            )
        self._claimed = True
        hold_test_range()
        return self

    def stop(self) -> None:
        if not getattr(self, "_claimed", False):
            return
        subprocess.run(
            ["ip", "addr", "del", f"{HUB_ADDRESS}/32", "dev", "lo"],
            capture_output=True,
            check=False,
        )
        self._claimed = False
        release_test_range()
        leave_test_range()


def _wait_for(what: str, ready: Any, seconds: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    detail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not come up within {seconds:.0f} s {detail}")


def _stop(process: subprocess.Popen | None, seconds: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Registry:
    """docker-registry on the hub, htpasswd auth (bcrypt, as the registry requires)."""

    user = "matra-ci"

    def __init__(self, address: str = HUB_ADDRESS, port: int = REGISTRY_PORT) -> None:
        self.host = f"{address}:{port}"
        self.password = secrets.token_urlsafe(18)
        self.work = Path(tempfile.mkdtemp(prefix="matra-registry-"))
        self._process: subprocess.Popen | None = None

    def start(self) -> Registry:
        htpasswd = subprocess.run(
            # -i: the password on stdin, never on a command line.
            ["htpasswd", "-B", "-i", "-n", self.user],
            input=self.password,
            capture_output=True,
            text=True,
            check=True,
        )
        (self.work / "htpasswd").write_text(htpasswd.stdout)
        (self.work / "config.yml").write_text(
            json.dumps(
                {
                    "version": 0.1,
                    "log": {"level": "warn", "accesslog": {"disabled": True}},
                    "storage": {"filesystem": {"rootdirectory": str(self.work / "data")}},
                    "http": {"addr": self.host, "secret": secrets.token_hex(16)},
                    "auth": {
                        "htpasswd": {"realm": "matra-test", "path": str(self.work / "htpasswd")}
                    },
                }
            )
        )
        return self.resume()

    def halt(self) -> None:
        """The registry goes down (its images stay on disk): hosts can pull nothing."""
        _stop(self._process)
        self._process = None

    def resume(self) -> Registry:
        """The registry (back) up, serving what it held."""
        log = open(self.work / "registry.log", "ab")  # noqa: SIM115 (closed with the process)
        self._process = subprocess.Popen(
            ["docker-registry", "serve", str(self.work / "config.yml")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def answers() -> bool:
            try:
                connection = http.client.HTTPConnection(*self.host.split(":"), timeout=1)
                connection.request("GET", "/v2/")
                return connection.getresponse().status == 401
            except OSError:
                return False

        _wait_for("the registry", answers, 20, self.work / "registry.log")
        return self

    def docker_config(self) -> str:
        """Read credentials as DigitalOcean's registry hands them out: a docker config."""
        auth = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return json.dumps({"auths": {self.host: {"auth": auth}}})

    def stop(self) -> None:
        _stop(self._process)
        shutil.rmtree(self.work, ignore_errors=True)


@dataclass(frozen=True)
class Release:
    tag: str
    healthy: bool = True
    """False: the image has no health path (its health check fails, it serves nothing)."""
    fails_after: int | None = None
    """Seconds after its start at which a healthy release turns bad, as ``failure`` says."""
    failure: str = "flap"
    """flap: its health path answers 404 from then on (it still serves /version); crash:
    the process exits (Docker restarts it, and it crashes again as long after)."""
    body: str = ""
    """What it answers at /version (its tag if empty): a rebuild under the same tag
    answers something else."""

    def command(self) -> str:
        """The container's shell command: busybox httpd serving /www, and its failure."""
        serve = "httpd -f -p 0.0.0.0:${PORT} -h /www"
        if self.fails_after is None:
            return f"exec {serve}"
        if self.failure == "crash":
            return f"{serve} & sleep {self.fails_after}; exit 1"
        return f"(sleep {self.fails_after}; rm -f /www/health/*) & exec {serve}"


def _image_tar(release: Release, health_path: str) -> bytes:
    """A root filesystem: busybox (its httpd serves /www), /www/version, the health path
    (a link into /www/health, which a flapping release empties)."""
    busybox = tools.require("busybox", "busybox").read_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:

        def add(name: str, data: bytes = b"", mode: int = 0o644, kind: bytes = tarfile.REGTYPE):
            info = tarfile.TarInfo(name)
            info.mode, info.type, info.size = mode, kind, len(data)
            if kind == tarfile.DIRTYPE:
                info.size = 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        def link(name: str, target: str) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)

        for directory in ("bin", "www", "www/health", "tmp"):
            add(directory, mode=0o755 if directory != "tmp" else 0o1777, kind=tarfile.DIRTYPE)
        add("bin/busybox", busybox, 0o755)
        for applet in ("sh", "httpd", "wget", "cat", "sleep", "rm"):
            link(f"bin/{applet}", "busybox")
        add("www/version", f"{release.body or release.tag}\n".encode())
        if release.healthy:
            path = health_path.strip("/")
            for part in Path(path).parents[::-1][1:]:
                add(f"www/{part}", mode=0o755, kind=tarfile.DIRTYPE)
            add("www/health/ok", b"ok\n")
            link(f"www/{path}", "/www/health/ok")
    return buffer.getvalue()


def build_images(
    builder: NamespaceHost, registry: Registry, releases: list[Release], health_path: str
) -> str:
    """Build and push each release as <registry>/matra/api:<tag>, on ``builder`` (a test
    host running Docker, as the app's CI would); returns the image name without a tag."""
    image = f"{registry.host}/{REPOSITORY}"
    login = builder.ssh(
        f"sudo docker login --username {registry.user} --password-stdin {registry.host}",
        stdin=registry.password,
    )
    assert login.returncode == 0, login.stderr
    for release in releases:
        tar = builder.work / f"{release.tag}.tar"
        tar.write_bytes(_image_tar(release, health_path))
        changes = [
            "ENV PATH=/bin PORT=8080",
            "WORKDIR /",
            f"CMD {json.dumps(['/bin/sh', '-c', release.command()])}",
        ]
        built = builder.ssh(
            "sudo docker import "
            + " ".join(f"--change {shlex.quote(change)}" for change in changes)
            + f" {tar} {image}:{release.tag} >/dev/null"
            + f" && sudo docker push --quiet {image}:{release.tag} >/dev/null",
            timeout=300,
        )
        assert built.returncode == 0, built.stderr
    return image


def push(registry: Registry, releases: list[Release], health_path: str) -> str:
    """Build and push ``releases`` on a builder host of their own (started and stopped
    here): a later build, such as a tag moved to a new image."""
    builder = NamespaceHost(docker=True, hub=HUB_ADDRESS)
    try:
        builder.start()
        return build_images(builder, registry, releases, health_path)
    finally:
        builder.stop()


@dataclass
class LoadBalancer:
    """HAProxy in front of ``backends`` ({name: address}), health-checking port 80 the way
    the stack's load balancer does (``health``: the healthCheck output)."""

    backends: dict[str, str]
    health: dict[str, Any]
    address: str = HUB_ADDRESS
    port: int = BALANCER_PORT
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="matra-lb-")))

    def config(self) -> str:
        h = self.health
        checks = (
            f"default-server inter {h['interval_seconds']}s rise {h['healthy_threshold']} "
            f"fall {h['unhealthy_threshold']}"
        )
        servers = "\n".join(
            f"    server {name} {address}:{h['port']} check"
            for name, address in self.backends.items()
        )
        return f"""global
    maxconn 4096
    stats socket {self.work}/admin.sock mode 600 level admin

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    # No second try: a request a host fails is a failed request.
    retries 0

frontend api
    bind {self.address}:{self.port}
    default_backend hosts

backend hosts
    balance roundrobin
    option httpchk GET {h["path"]}
    http-check expect rstatus ^2
    timeout check {h["timeout_seconds"]}s
    {checks}
{servers}
"""

    def start(self) -> LoadBalancer:
        (self.work / "haproxy.cfg").write_text(self.config())
        subprocess.run(
            ["haproxy", "-c", "-q", "-f", str(self.work / "haproxy.cfg")],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                "haproxy",
                "-D",
                "-p",
                str(self.work / "haproxy.pid"),
                "-f",
                str(self.work / "haproxy.cfg"),
            ],
            check=True,
            capture_output=True,
        )
        return self

    def servers(self) -> dict[str, tuple[str, str]]:
        """{server: (status, last check)} from HAProxy's stats socket."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.work / "admin.sock"))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        rows = data.decode().lstrip("# ").splitlines()
        header = rows[0].split(",")
        found = {}
        for row in rows[1:]:
            values = dict(zip(header, row.split(","), strict=False))
            if values.get("pxname") == "hosts" and values.get("svname") in self.backends:
                found[values["svname"]] = (values["status"], values["check_status"])
        return found

    def wait_until_all_up(self, seconds: float = 120) -> None:
        """Every host UP and checked at least once with a 2xx (L7OK)."""

        def all_up() -> bool:
            return all(s == ("UP", "L7OK") for s in self.servers().values())

        _wait_for(f"every host behind the balancer ({self.servers()})", all_up, seconds)

    def stop(self) -> None:
        pid_file = self.work / "haproxy.pid"
        if pid_file.exists():
            pids = pid_file.read_text().split()
            for pid in pids:
                subprocess.run(["kill", pid], capture_output=True, check=False)
            # Daemonised (-D), so no child to wait for; until it is gone its port is bound.
            _wait_for("haproxy to exit", lambda: not any(map(_running, pids)), 10)
        shutil.rmtree(self.work, ignore_errors=True)


def _running(pid: str) -> bool:
    """Whether process ``pid`` still runs (a zombie, exited but not yet reaped, doesn't)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


class Load:
    """``clients`` threads, each sending GET ``path`` to address:port over a new connection
    per request, until stopped; every answer that isn't a 200 is a failure."""

    def __init__(self, address: str, port: int, path: str = "/version", clients: int = 4):
        self.address, self.port, self.path, self.clients = address, port, path, clients
        self.total = 0
        self.failures: list[tuple[float, str]] = []
        self.bodies: Counter[str] = Counter()
        self.last: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]
        self._started = 0.0

    def __enter__(self) -> Load:
        self._started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def _run(self) -> None:
        while not self._stop.is_set():
            at = time.monotonic() - self._started
            try:
                connection = http.client.HTTPConnection(self.address, self.port, timeout=10)
                connection.request("GET", self.path, headers={"Connection": "close"})
                response = connection.getresponse()
                body = response.read().decode(errors="replace").strip()
                connection.close()
                failure = None if response.status == 200 else f"{response.status} {body[:60]}"
            except OSError as error:
                body, failure = "", f"{type(error).__name__}: {error}"
            with self._lock:
                self.total += 1
                if failure is None:
                    self.bodies[body] += 1
                    self.last[body] = at
                else:
                    self.failures.append((round(at, 2), failure))

    def wait_for(self, count: int, seconds: float = 30) -> None:
        """Until at least ``count`` requests have been answered (or failed)."""
        _wait_for(f"{count} requests", lambda: self.total >= count, seconds)

    def summary(self) -> str:
        seconds = time.monotonic() - self._started
        return (
            f"{self.total} requests in {seconds:.1f} s, {len(self.failures)} failed, "
            f"answers {dict(self.bodies)}, first failures {self.failures[:5]}"
        )


@dataclass
class DeployKey:
    """The fleet's deploy key pair (the stack's deploySshPrivateKey/PublicKey)."""

    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="matra-deploykey-")))

    def __post_init__(self) -> None:
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "deploy", "-f", str(self.path)],
            check=True,
        )

    @property
    def path(self) -> Path:
        return self.work / "id_ed25519"

    @property
    def private(self) -> str:
        return self.path.read_text()

    @property
    def public(self) -> str:
        return Path(f"{self.path}.pub").read_text().strip()

    def remove(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


@dataclass
class ApiHost:
    """A test host made an API host by the program's own scripts, in the program's order:
    setup, then the registry credentials and the .env on stdin, then the release
    bootstrap. ``name`` is the droplet name the outputs give it."""

    name: str
    host: NamespaceHost
    contract: HostContract

    def set_up(self, *, deploy_key: str, registry_config: str, dotenv: str) -> str:
        """Runs every step (each must succeed); returns the bootstrap's output."""
        for step, script, stdin in (
            ("setup", self.contract.setup_script(deploy_key), ""),
            ("registry", self.contract.registry_script(), registry_config),
            ("env", self.contract.env_script(), dotenv),
            ("release", self.contract.release_bootstrap_script(), ""),
        ):
            result = self.host.ssh(script, stdin=stdin, timeout=300)
            assert result.returncode == 0, f"{self.name} {step}: {result.stdout}{result.stderr}"
        return result.stdout

    @property
    def address(self) -> str:
        return self.host.address

    def known_hosts_line(self) -> str:
        return known_hosts_line([self.name, self.address], self.host.host_public_key())

    def status(self) -> dict[str, str]:
        """matra-deploy status, as the ops user (with sudo) sees it."""
        result = self.host.ssh("sudo /usr/local/sbin/matra-deploy status")
        assert result.returncode == 0, result.stderr
        return dict(word.partition("=")[::2] for word in result.stdout.split())

    def serves(self) -> str:
        """What the host's nginx answers at /version (the release that takes traffic)."""
        connection = http.client.HTTPConnection(self.address, 80, timeout=5)
        connection.request("GET", "/version")
        return connection.getresponse().read().decode().strip()

    def running_slots(self) -> int:
        """How many of the app's slot containers (matra-a, matra-b) run now: two while a
        deploy has its new release up beside the old one."""
        listed = self.host.ssh("sudo docker ps --format '{{.Names}}'")
        return sum(name.startswith("matra-") for name in listed.stdout.split())

    def deploying(self) -> bool:
        """Whether a matra-deploy that changes something runs on the host now."""
        found = self.host.ssh("pgrep -f 'sbin/matra-deploy (deploy|redeploy|rollback|refresh)'")
        return found.returncode == 0

    def end_state(self) -> HostEnd:
        """What the host records, what its nginx serves, and whether the two agree, once
        no deploy runs on it (waited for, up to 3 minutes: how long it keeps going)."""
        started, busy_for = time.monotonic(), 0.0
        while self.deploying() and time.monotonic() - started < 180:
            time.sleep(0.5)
            busy_for = time.monotonic() - started
        status = self.status()
        try:
            serves = self.serves()
        except OSError as error:
            serves = f"nothing ({error})"
        return HostEnd(
            name=self.name,
            recorded=status.get("release", "?"),
            serves=serves,
            healthy=status.get("healthy") == "yes",
            busy_after=round(busy_for, 1),
        )


@dataclass(frozen=True)
class HostEnd:
    """A host at the end of a scenario."""

    name: str
    recorded: str
    """The release its status names."""
    serves: str
    """What its nginx answers at /version."""
    healthy: bool
    """What its status says of the release's health."""
    busy_after: float
    """Seconds a deploy kept running on it once the scenario was over."""

    @property
    def agrees(self) -> bool:
        return self.recorded.partition("@")[0] == self.serves

    def __str__(self) -> str:
        health = "healthy" if self.healthy else "NOT healthy"
        agreement = "" if self.agrees else f", but nginx serves {self.serves}"
        busy = f", busy {self.busy_after:.0f} s more" if self.busy_after >= 1 else ""
        return f"{self.name}: {self.recorded} ({health}{agreement}{busy})"


class DeployRun:
    """``python -m deploy`` running in its own process group (as in a terminal or a CI
    job), its output read as it comes: a test waits for a line, interrupts it, kills it."""

    def __init__(self, argv: list[str], stdin: str) -> None:
        self.started = time.monotonic()
        self.lines: list[tuple[float, str, str]] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            start_new_session=True,
        )
        assert self.process.stdin is not None
        self.process.stdin.write(stdin)
        self.process.stdin.close()
        self._readers = [
            threading.Thread(target=self._read, args=(stream, name), daemon=True)
            for stream, name in ((self.process.stdout, "out"), (self.process.stderr, "err"))
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, name: str) -> None:
        for line in stream:
            with self._changed:
                self.lines.append((time.monotonic() - self.started, name, line.rstrip("\n")))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern: str, seconds: float = 120) -> str:
        """The first output line matching ``pattern`` (a regular expression)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + seconds
        with self._changed:
            while True:
                for _, _, line in self.lines:
                    if regex.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not self._alive()):
                    raise AssertionError(f"no line matching {pattern!r}: {self.output()}")
                self._changed.wait(min(left, 0.5))

    def _alive(self) -> bool:
        return any(reader.is_alive() for reader in self._readers)

    def signal(self, number: int) -> None:
        """``number`` to the command's whole process group, as a terminal's Ctrl-C (SIGINT)
        or a killed job (SIGKILL) sends it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, number)

    def finish(self, seconds: float = 600) -> subprocess.CompletedProcess[str]:
        code = self.process.wait(timeout=seconds)
        for reader in self._readers:
            reader.join(timeout=10)
        out = "".join(f"{line}\n" for _, name, line in self.lines if name == "out")
        err = "".join(f"{line}\n" for _, name, line in self.lines if name == "err")
        return subprocess.CompletedProcess(self.process.args, code, out, err)

    def output(self) -> str:
        return "\n".join(f"{at:6.1f} {name} {line}" for at, name, line in self.lines)


def wait_until(what: str, ready: Any, seconds: float = 60) -> None:
    """Until ``ready()`` holds (every 0.2 s), or fail naming ``what``."""
    _wait_for(what, ready, seconds)


@dataclass
class Outcome:
    """What a failure scenario did: the command's exit and last line, the requests sent
    through the balancer and how many failed, and every host's end state."""

    scenario: str
    exit_code: int | None
    message: str
    requests: int
    failed: int
    hosts: list[HostEnd]
    balancer: dict[str, str] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        down = [name for name, state in self.balancer.items() if state != "UP"]
        return (
            f"{self.scenario}: {self.failed} of {self.requests} requests failed; exit "
            f"{self.exit_code}; {'; '.join(map(str, self.hosts))}"
            + (f"; balancer has {', '.join(down)} down" if down else "")
            + (f"; {self.notes}" if self.notes else "")
            + (f"; last line: {self.message}" if self.message else "")
        )

    def record(self) -> Outcome:
        """Printed (pytest -s shows it), and appended as JSON to $MATRA_SCENARIO_LOG."""
        print(self.line(), flush=True)
        log = os.environ.get("MATRA_SCENARIO_LOG")
        if log:
            hosts = [{**asdict(host), "agrees": host.agrees} for host in self.hosts]
            entry = {**asdict(self), "hosts": hosts}
            with open(log, "a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")
        return self


def outputs(
    base: dict[str, Any], hosts: list[ApiHost], image: str, key: DeployKey
) -> dict[str, Any]:
    """The stack's outputs (from the program, ``base``) with the test hosts in them: what
    `pulumi stack output --json --show-secrets` prints for a stack whose droplets they
    are."""
    return {
        **base,
        "appImage": image,
        "deployTargets": [{"name": h.name, "ip": h.address} for h in hosts],
        "sshKnownHosts": "".join(f"{h.known_hosts_line()}\n" for h in hosts),
        "deploySshPrivateKey": key.private,
        "deploySshPublicKey": key.public,
    }


def dotenv(**extra: str) -> str:
    """An app .env as the program renders it (stand-in connection strings)."""
    return env_file(
        mongodb_uri="mongodb+srv://app:secret-password@cluster.example.mongodb.net/matra",
        redis_url="redis://default:secret@10.10.0.5:6379",
        plain=[("NODE_ENV", "production"), *extra.items()],
    )


@dataclass
class Fleet:
    """A stack's API hosts on test hosts, the registry, the deploy key and (with more
    than one host) the load balancer; the deploy command pointed at them."""

    program: dict[str, Any]
    """The stack's outputs, from the program under mocks."""
    registry: Registry
    image: str
    key: DeployKey
    contract: HostContract
    hosts: list[ApiHost] = field(default_factory=list)
    balancer: LoadBalancer | None = None
    started: list[NamespaceHost] = field(default_factory=list)

    def new_host(self, name: str, release_source: str = "") -> tuple[ApiHost, str]:
        """A test host set up by the program's scripts (not one of ``hosts``); returns it
        and what its release bootstrap printed."""
        # journald and rsyslog as on a droplet: the app's containers log to journald.
        host = NamespaceHost(docker=True, hub=HUB_ADDRESS, syslog=True)
        self.started.append(host)
        host.start()
        contract = dataclasses.replace(self.contract, release_source=release_source)
        api = ApiHost(name=name, host=host, contract=contract)
        bootstrap = api.set_up(
            deploy_key=self.key.public,
            registry_config=self.registry.docker_config(),
            dotenv=dotenv(),
        )
        return api, bootstrap

    def remove(self, api: ApiHost) -> None:
        api.host.stop()
        self.started.remove(api.host)

    def outputs(self, hosts: list[ApiHost] | None = None) -> dict[str, Any]:
        return outputs(self.program, self.hosts if hosts is None else hosts, self.image, self.key)

    def deploy(
        self, *args: str, hosts: list[ApiHost] | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``python -m deploy --outputs - ARGS`` as the app's workflow runs it, the outputs
        (of ``hosts``, all by default) on stdin unless ``stdin`` is given."""
        return subprocess.run(
            [sys.executable, "-m", "deploy", "--outputs", "-", *args],
            input=json.dumps(self.outputs(hosts)) if stdin is None else stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=900,
            check=False,
        )

    def start_deploy(self, *args: str, hosts: list[ApiHost] | None = None) -> DeployRun:
        """``deploy(*args)``, running: its output read as it comes."""
        return DeployRun(
            [sys.executable, "-m", "deploy", "--outputs", "-", *args],
            json.dumps(self.outputs(hosts)),
        )

    def push(self, *releases: Release) -> None:
        """Build and push ``releases`` to the registry now (a new build, a moved tag)."""
        push(self.registry, list(releases), self.program["healthCheck"]["path"])

    def outcome(
        self, scenario: str, done: subprocess.CompletedProcess[str] | None, load: Load, **notes: Any
    ) -> Outcome:
        """The scenario's outcome, read once no deploy runs on any host any more."""
        hosts = [host.end_state() for host in self.hosts]
        balancer = (
            {name: state for name, (state, _) in self.balancer.servers().items()}
            if self.balancer is not None
            else {}
        )
        message = ""
        if done is not None:
            lines = (done.stderr or done.stdout).strip().splitlines()
            message = lines[-1] if lines else ""
        return Outcome(
            scenario=scenario,
            exit_code=None if done is None else done.returncode,
            message=message,
            requests=load.total,
            failed=len(load.failures),
            hosts=hosts,
            balancer=balancer,
            notes=notes,
        ).record()

    def releases(self) -> list[tuple[str, str]]:
        """(release, previous) of each host."""
        return [(s["release"], s["previous"]) for s in (h.status() for h in self.hosts)]

    def ensure_release(self, release: str) -> None:
        """Every host runs ``release`` (deployed if needed, with short watches)."""
        if {r for r, _ in self.releases()} != {release}:
            done = self.deploy("--release", release, *QUICK)
            assert done.returncode == 0, done.stdout + done.stderr

    def ensure(self, release: str, previous: str) -> None:
        """Every host runs ``release`` with ``previous`` before it (deployed if needed, with
        short watches)."""
        if self.releases() != [(release, previous)] * len(self.hosts):
            for tag in (previous, release):
                done = self.deploy("--release", tag, *QUICK)
                assert done.returncode == 0, done.stdout + done.stderr
        assert self.releases() == [(release, previous)] * len(self.hosts)

    def deploy_and_balance(self, release: str) -> None:
        """Every host deploys ``release`` (short watches), then HAProxy goes in front."""
        first = self.deploy("--release", release, *QUICK)
        assert first.returncode == 0, first.stdout + first.stderr
        self.balance()

    def balance(self) -> LoadBalancer:
        """HAProxy in front of the hosts, every one UP by the stack's health check."""
        self.balancer = LoadBalancer(
            {h.name: h.address for h in self.hosts}, self.program["healthCheck"]
        )
        self.balancer.start()
        self.balancer.wait_until_all_up()
        return self.balancer

    def under_load(self, clients: int = 4) -> Load:
        """Requests through the balancer, or straight to a lone host's nginx."""
        if self.balancer is not None:
            return Load(self.balancer.address, self.balancer.port, clients=clients)
        (lone,) = self.hosts
        return Load(lone.address, 80, clients=clients)


def contract_for(
    program: dict[str, Any], stack: str, image: str, health_timeout: int
) -> HostContract:
    """The host contract the program renders for ``stack``, with the test registry's image."""
    return HostContract(
        image=image,
        app_port=int(stack_config(stack)["matra-infra:appPort"]),
        health_path=program["healthCheck"]["path"],
        server_name=program["apiHostname"],
        admin_user="ops",
        deploy_user=program["deployUser"],
        health_timeout=health_timeout,
    )


@contextlib.contextmanager
def fleet(
    count: int, releases: list[Release], *, stack: str = "prod", health_timeout: int = 60
) -> Iterator[Fleet]:
    """``count`` API hosts of ``stack`` set up by the program's scripts (each running
    `latest` if ``releases`` has it, else nothing), and the registry holding ``releases``;
    everything stopped afterwards."""
    program = {key: value.value for key, value in run_program(stack).outputs.items()}
    hub, registry, key = Hub(), Registry(), DeployKey()
    rig: Fleet | None = None
    builder = NamespaceHost(docker=True, hub=HUB_ADDRESS)
    try:
        hub.start()
        registry.start()
        builder.start()
        image = build_images(builder, registry, releases, program["healthCheck"]["path"])
        builder.stop()
        rig = Fleet(
            program, registry, image, key, contract_for(program, stack, image, health_timeout)
        )
        latest = any(release.tag == "latest" for release in releases)
        for index in range(count):
            api, bootstrap = rig.new_host(f"matra-{stack}-api-{index}")
            # Nothing recorded anywhere yet: the host starts `latest` if there is one.
            expected = "starting latest" if latest else "the registry holds no latest"
            assert expected in bootstrap, bootstrap
            rig.hosts.append(api)
        yield rig
    finally:
        builder.stop()
        if rig is not None:
            if rig.balancer is not None:
                rig.balancer.stop()
            for host in rig.started:
                host.stop()
        registry.stop()
        hub.stop()
        key.remove()
