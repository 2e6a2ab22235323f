#!/usr/bin/python3
"""matra-deploy: run a release of the app on this host without failing a request.

Installed by matra-infra's host setup in /usr/local/lib/matra-deploy, with the image
reference grammar it shares with the deploy command (matra_data/docker.py), and linked
from /usr/local/sbin/matra-deploy (root; Python 3's standard library otherwise); its
parameters are in /etc/matra/deploy.env. The deploy user
reaches it only through matra-deploy-gate (its sshd ForceCommand); operators run it with
sudo. A release (REF) is a tag, or TAG@sha256:<64 hex>: that image exactly.

  deploy REF [WATCH [ID]]   start REF beside the running release, wait until it passes its
                            health check, switch nginx to it, watch it WATCH seconds while
                            the old one stays up, then stop the old one. A release that turns
                            unhealthy or restarts in its watch is switched back. With ID (the
                            deploy command's run), standard input is the command's session,
                            a line every 2 s: when it closes or goes silent for 10 s, the run
                            puts back what served before it and ends.
  check REF                 have REF's image here (pull only what is missing): its digest
  rollback [WATCH]          deploy the release recorded as the one before the current one
  redeploy [WATCH]          deploy the running release again, beside itself
  refresh [WATCH]           redeploy the running release if it started with another .env or
                            compose file than the ones here now (pulumi up's deliveries)
  bootstrap                 on a host that runs nothing: start what the stack serves now
  status                    one line: what this host serves (read-only, never waits)
  upstream                  host setup's, under its lock: make sure nginx's upstream file
                            names a slot (the one it named before, else slot a)
  result ID                 run ID's outcome as JSON (the deploy command, after a lost link)
  history                   this host's last runs

What serves is what nginx sends traffic to, asked of nginx itself. /opt/matra/current.env
records it, and what served before, atomically and only once nginx is seen serving it.
Everything that changes the host holds /var/lib/matra-deploy/deploy.lock, waiting for it
up to MATRA_LOCK_WAIT seconds. Exit status: 0 done; 1 failed (what served before still
serves); 2 bad usage; 3 abandoned (signalled, or its session closed: what served before
serves); 75 the host stayed busy (nothing changed)."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import http.client
import json
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matra_data.docker import Release

USAGE = (
    "usage: matra-deploy deploy REF [WATCH [ID]] | check REF | rollback [WATCH] | "
    "redeploy [WATCH] | refresh [WATCH] | bootstrap | status | result ID | history | upstream"
)
RUN_ID = re.compile(r"[0-9a-f]{16}")
WATCH_MAX = 86_400
GATE_PASSES = 2
"""Consecutive 2xx answers, 1 s apart, a new release gives before it takes traffic."""
WATCH_FAILURES = 2
"""Consecutive failed probes (about 0.5 s apart) that end a release's watch."""
VERIFY_SECONDS = 10
"""How long nginx has, after its reload, to be seen serving the new slot."""
SILENCE = 10
"""Seconds without the deploy command's heartbeat (it sends one every 2 s) after which
its run takes the session for gone."""
RESULTS_KEPT = 50
EXIT_FAILED, EXIT_USAGE, EXIT_ABANDONED, EXIT_BUSY = 1, 2, 3, 75
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class DeployError(Exception):
    """The run could not do what it was asked; one line, saying what serves now."""


class AbandonedError(Exception):
    """The run was signalled or lost its session, and put back what served before it."""


class BusyError(Exception):
    """Another run held the host's lock longer than the wait allows."""


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# --- configuration, files ---------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """/etc/matra/deploy.env: the stack's parameters (host setup writes it)."""

    image: str
    """The app's image, without tag or digest."""
    health_path: str
    ports: dict[str, int]
    """The loopback port of each slot, a and b."""
    health_timeout: int = 60
    drain_timeout: int = 30
    stop_timeout: int = 30
    watch: int = 30
    """The watch of a deploy that names none (an operator's, refresh, redeploy)."""
    lock_wait: int = 600
    release_source: str = ""
    """Where bootstrap asks which release the stack serves (its ingress)."""

    @classmethod
    def read(cls, path: Path) -> Config:
        values: dict[str, str] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                values[key.strip()] = " ".join(shlex.split(value))
        number = {
            key: int(values[key]) for key in values if key.endswith(("_TIMEOUT", "WATCH", "WAIT"))
        }
        return cls(
            image=values["MATRA_IMAGE"],
            health_path=values["MATRA_HEALTH_PATH"],
            ports={"a": int(values["MATRA_PORT_A"]), "b": int(values["MATRA_PORT_B"])},
            health_timeout=number.get("MATRA_HEALTH_TIMEOUT", 60),
            drain_timeout=number.get("MATRA_DRAIN_TIMEOUT", 30),
            stop_timeout=number.get("MATRA_STOP_TIMEOUT", 30),
            watch=number.get("MATRA_WATCH", 30),
            lock_wait=number.get("MATRA_LOCK_WAIT", 600),
            release_source=values.get("MATRA_RELEASE_SOURCE", ""),
        )

    def slot_at(self, port: int | None) -> str | None:
        return next((slot for slot, p in self.ports.items() if p == port), None)


@dataclass(frozen=True)
class Paths:
    app: Path = Path("/opt/matra")
    nginx: Path = Path("/etc/nginx")
    state: Path = Path("/var/lib/matra-deploy")
    scratch: Path = Path("/run/matra-deploy")

    @property
    def record(self) -> Path:
        return self.app / "current.env"

    @property
    def release(self) -> Path:
        """The REF this host serves, which nginx serves at /.matra/release."""
        return self.app / "release"

    @property
    def upstream(self) -> Path:
        """The slot nginx sends traffic to (the site includes it relative to /etc/nginx)."""
        return self.nginx / "matra" / "upstream.conf"

    @property
    def legacy_upstream(self) -> Path:
        """Where the nginx site before this one kept it."""
        return self.nginx / "matra-upstream.conf"

    @property
    def lock(self) -> Path:
        return self.state / "deploy.lock"

    @property
    def operation(self) -> Path:
        """The run that holds the lock."""
        return self.state / "operation.json"

    @property
    def results(self) -> Path:
        return self.state / "results"


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """``text`` to ``path``, all of it or nothing, on disk before it takes the name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), mode)
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def fingerprint(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return ""


def upstream_text(port: int) -> str:
    """nginx's upstream file for the slot on ``port``: what the site's upstream includes.
    (This and ``upstream_port`` are the file's one writer and one reader.)"""
    return f"server 127.0.0.1:{port};\n"


def upstream_port(path: Path) -> int | None:
    """The port an upstream file names (None: no file, or no server in it)."""
    try:
        found = re.search(r"^server 127\.0\.0\.1:(\d+);", path.read_text(), re.MULTILINE)
    except FileNotFoundError:
        return None
    return int(found.group(1)) if found else None


def first_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8").split("\n", 1)
    except FileNotFoundError:
        return ""
    return lines[0].strip()


# --- releases, the record ------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """/opt/matra/current.env: what this host serves and what served before; the compose
    file's variables too (the docker-compose shim reads it)."""

    slot: str
    port: int
    release: Release
    previous: Release | None = None
    env_sha256: str = ""
    """The .env the release started with."""
    compose_sha256: str = ""
    """The compose file it started with."""
    since: str = ""

    def text(self) -> str:
        previous = self.previous or Release("")
        values = {
            "MATRA_SLOT": self.slot,
            "MATRA_PORT": self.port,
            "MATRA_RELEASE": self.release.tag,
            "MATRA_DIGEST": self.release.digest,
            "MATRA_PREVIOUS_RELEASE": previous.tag,
            "MATRA_PREVIOUS_DIGEST": previous.digest,
            "MATRA_ENV_SHA256": self.env_sha256,
            "MATRA_COMPOSE_SHA256": self.compose_sha256,
            "MATRA_SINCE": self.since,
        }
        lines = [f"{key}={value}" for key, value in values.items()]
        return (
            "# What this host serves; written by matra-deploy, never by hand.\n"
            + "\n".join(lines)
            + "\n"
        )

    @classmethod
    def read(cls, path: Path) -> Record | None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return None
        values = dict(line.partition("=")[::2] for line in lines if "=" in line)
        if values.get("MATRA_SLOT") not in ("a", "b") or not values.get("MATRA_RELEASE"):
            return None
        previous = Release(
            values.get("MATRA_PREVIOUS_RELEASE", ""), values.get("MATRA_PREVIOUS_DIGEST", "")
        )
        return cls(
            slot=values["MATRA_SLOT"],
            port=int(values["MATRA_PORT"]),
            release=Release(values["MATRA_RELEASE"], values.get("MATRA_DIGEST", "")),
            previous=previous if previous.tag else None,
            env_sha256=values.get("MATRA_ENV_SHA256", ""),
            compose_sha256=values.get("MATRA_COMPOSE_SHA256", ""),
            since=values.get("MATRA_SINCE", ""),
        )


@dataclass(frozen=True)
class Container:
    """A slot's app container, as Docker sees it."""

    running: bool
    release: Release
    restarts: int = 0
    started_at: str = ""


# --- the system: Docker, nginx, HTTP, time (the unit tests put a fake in its place) ------


class System:
    def __init__(self, config: Config, paths: Paths) -> None:
        self.config, self.paths = config, paths
        self.stopping: Callable[[], bool] = lambda: False
        """Whether the run must end: a command still running is then cut short."""

    def run(
        self, argv: Sequence[str], *, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        environment = {"PATH": PATH, "DOCKER_CONFIG": "/etc/matra/docker", **(env or {})}
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                out, err = process.communicate(timeout=0.2)
                return subprocess.CompletedProcess(process.args, process.returncode, out, err)
            except subprocess.TimeoutExpired:
                if self.stopping() or time.monotonic() > deadline:
                    process.kill()
                    out, err = process.communicate()
                    why = "cut short" if self.stopping() else f"no end after {timeout:.0f} s"
                    return subprocess.CompletedProcess(process.args, 124, out, f"{err}{why}\n")

    def compose(self, slot: str, release: Release, *args: str, timeout: float = 120) -> bool:
        """docker compose for one slot's project, with the release's variables."""
        app = self.paths.app
        done = self.run(
            ["docker", "compose", "--project-directory", str(app),
             "--file", str(app / "docker-compose.yml"), "--env-file", str(app / "compose.env"),
             "--project-name", f"matra-{slot}", *args],
            timeout=timeout,
            env={
                "MATRA_RELEASE": release.tag,
                "MATRA_DIGEST": release.digest,
                "MATRA_PORT": str(self.config.ports[slot]),
            },
        )  # fmt: skip
        return done.returncode == 0

    def container(self, slot: str) -> Container | None:
        """The slot's app container, running or not (None: there is none)."""
        listed = self.run(
            ["docker", "ps", "--all", "--quiet",
             "--filter", f"label=com.docker.compose.project=matra-{slot}",
             "--filter", "label=com.docker.compose.service=app"]
        )  # fmt: skip
        ids = listed.stdout.split()
        if listed.returncode != 0 or not ids:
            return None
        inspected = self.run(["docker", "inspect", ids[0]])
        if inspected.returncode != 0:
            return None
        (data,) = json.loads(inspected.stdout)
        env = dict(item.partition("=")[::2] for item in data["Config"].get("Env") or [])
        image = data["Config"].get("Image", "")
        digest = image.partition("@")[2] if "@" in image else self.digest_of(image)
        return Container(
            running=bool(data["State"].get("Running")),
            release=Release(env.get("MATRA_RELEASE") or image.rpartition(":")[2], digest),
            restarts=int(data.get("RestartCount", 0)),
            started_at=str(data["State"].get("StartedAt", "")),
        )

    def digest_of(self, reference: str) -> str:
        """The registry digest a local image has under the app's name ("" if none)."""
        done = self.run(
            ["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", reference]
        )
        if done.returncode != 0:
            return ""
        digests = [
            entry.partition("@")[2]
            for entry in json.loads(done.stdout or "null") or []
            if entry.partition("@")[0] == self.config.image
        ]
        wanted = reference.partition("@")[2]
        if wanted:
            return wanted if wanted in digests else ""
        return digests[0] if len(digests) == 1 else ""

    def pull(self, reference: str) -> tuple[str, str]:
        """(the digest the registry gave, "") or ("", why not)."""
        done = self.run(["docker", "pull", reference], timeout=900)
        found = re.search(r"Digest: (sha256:[0-9a-f]{64})", done.stdout)
        if done.returncode == 0 and found:
            return found.group(1), ""
        lines = (done.stderr or done.stdout).strip().splitlines()
        return "", lines[-1] if lines else f"docker pull exited {done.returncode}"

    def get(self, port: int, path: str) -> tuple[int | None, int | None]:
        """GET http://127.0.0.1:PORT/PATH on a new connection: the status (None: no
        answer), and the slot port nginx says it sent it to (its X-Matra-Upstream)."""
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", path, headers={"Connection": "close"})
            response = connection.getresponse()
            response.read()
            found = re.match(r"127\.0\.0\.1:(\d+)", response.getheader("X-Matra-Upstream", ""))
            return response.status, int(found.group(1)) if found else None
        except (OSError, http.client.HTTPException):
            return None, None
        finally:
            connection.close()

    def nginx_test(self, upstream: str) -> tuple[bool, str]:
        """nginx's test of its whole configuration with ``upstream`` in place of the
        installed one, installing nothing: in a copy of /etc/nginx made of links but for
        matra/, where the site's relative include finds the candidate."""
        trial = self.paths.scratch / "nginx"
        subprocess.run(["rm", "-rf", str(trial)], check=False)
        (trial / "matra").mkdir(parents=True)
        for entry in self.paths.nginx.iterdir():
            if entry.name != "matra":
                (trial / entry.name).symlink_to(entry)
        (trial / "matra" / "upstream.conf").write_text(upstream, encoding="utf-8")
        done = self.run(["nginx", "-t", "-q", "-c", str(trial / "nginx.conf")])
        lines = (done.stderr or done.stdout).strip().splitlines()
        said = [line for line in lines if "[emerg]" in line] or lines[-1:]
        return done.returncode == 0, said[0] if said else ""

    def reload_nginx(self) -> tuple[bool, str]:
        done = self.run(["systemctl", "reload", "nginx"], timeout=60)
        lines = (done.stderr or done.stdout).strip().splitlines()
        return done.returncode == 0, lines[-1] if lines else ""

    def nginx_workers(self) -> set[int]:
        found = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if (entry / "cmdline").read_bytes().startswith(b"nginx: worker process"):
                        found.add(int(entry.name))
        return found

    @staticmethod
    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    @staticmethod
    def fetch(url: str) -> str:
        with urllib.request.urlopen(url, timeout=15) as answer:
            return str(answer.read(512).decode("utf-8", "replace"))

    monotonic = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)
    now = staticmethod(utc_now)


# --- the host -------------------------------------------------------------------------


class Host:
    """This host's app: its two slots, nginx in front, the record."""

    def __init__(
        self, config: Config, paths: Paths, system: System, say: Callable[[str], None]
    ) -> None:
        self.config, self.paths, self.system, self.say = config, paths, system, say
        self.stop_reason = ""
        """Why the run must end ("" while it may go on): a signal, its session gone."""
        self.holding = 0
        """Above 0 while the run must not be cut short (a switch, a record, a clean-up)."""
        system.stopping = lambda: bool(self.stop_reason) and not self.holding

    def going(self) -> None:
        if self.stop_reason:
            raise AbandonedError(self.stop_reason)

    # -- what serves ----------------------------------------------------------------------

    def upstream(self, slot: str) -> str:
        return upstream_text(self.config.ports[slot])

    def served_slot(self) -> str | None:
        """The slot nginx sends traffic to, asked of nginx; its upstream file's if nginx
        doesn't say (not running, or a site from before this entry point)."""
        _, port = self.system.get(80, "/.matra/health")
        if port is None:
            port = upstream_port(self.paths.upstream)
        return self.config.slot_at(port)

    def ensure_upstream(self) -> str:
        """Host setup's (it holds the lock): an upstream file that names a server, before
        nginx loads a site that includes it. One there is kept; else the one the site
        before this one used (the slot it served), else slot a's."""
        if (port := upstream_port(self.paths.upstream)) is not None:
            return f"nginx's upstream names port {port}: kept"
        port = upstream_port(self.paths.legacy_upstream) or self.config.ports["a"]
        write_atomically(self.paths.upstream, upstream_text(port))
        return f"nginx's upstream names port {port}: written"

    def healthy(self, slot: str) -> bool:
        """The slot's release answers its health path with a 2xx (asked directly)."""
        status, _ = self.system.get(self.config.ports[slot], self.config.health_path)
        return status is not None and 200 <= status < 300

    def fingerprints(self) -> tuple[str, str]:
        app = self.paths.app
        return fingerprint(app / ".env"), fingerprint(app / "docker-compose.yml")

    def commit(self, record: Record | None) -> None:
        """The record, then what /.matra/release serves; each atomically."""
        if record is None:
            for path in (self.paths.record, self.paths.release):
                path.unlink(missing_ok=True)
            return
        write_atomically(self.paths.record, record.text())
        write_atomically(self.paths.release, f"{record.release}\n")
        # The entry point before this one kept the release before in its own file.
        (self.paths.app / "release.previous").unlink(missing_ok=True)

    def reconcile(self) -> Record | None:
        """The record made to say what nginx serves, whatever an earlier run left: a
        record naming the other slot, a release left in the idle slot, a served slot whose
        release is down while the other slot's is healthy. The slot that takes traffic is
        never stopped."""
        record = Record.read(self.paths.record)
        served = self.served_slot()
        if served is None:
            return record
        container = self.system.container(served)
        if not (container and container.running) and not self.healthy(served):
            spare = self.system.container(other(served))
            if spare and spare.running and self.healthy(other(served)):
                self.say(
                    f"slot {served} serves nothing healthy, slot {other(served)} does: switching"
                )
                with self.uninterrupted():
                    self.switch(other(served), served)
                served, container = other(served), spare
        if container is not None and (
            record is None or (record.slot, record.release) != (served, container.release)
        ):
            before = record.release if record else legacy_release(self.paths)
            if record is None and before and before.tag == container.release.tag:
                before = legacy_previous(self.paths)
            elif record is not None and before == container.release:
                before = record.previous
            said = f"slot {record.slot}, {record.release.short}" if record else "nothing"
            self.say(
                f"recording what nginx serves: slot {served}, {container.release.short} "
                f"(the record said {said})"
            )
            record = Record(
                served,
                self.config.ports[served],
                container.release,
                before if before != container.release else None,
                since=self.system.now(),
            )
            self.commit(record)
        if first_line(self.paths.upstream) != self.upstream(served).strip():
            write_atomically(self.paths.upstream, self.upstream(served))
        left = self.system.container(other(served))
        if left is not None:
            self.say(f"removing what an earlier run left in slot {other(served)}")
            self.system.compose(other(served), left.release, "down", "--timeout", "5")
        if record is not None and first_line(self.paths.release) != str(record.release):
            write_atomically(self.paths.release, f"{record.release}\n")
        return record

    # -- the switch -----------------------------------------------------------------------

    def switch(self, to: str, back: str) -> None:
        """nginx to slot ``to``, as a transaction: the new upstream is tested before it is
        installed; after the reload nginx must be seen serving ``to``; on any failure the
        upstream for ``back`` is put in place again. Signals wait until it is over."""
        ok, why = self.system.nginx_test(self.upstream(to))
        if not ok:
            raise DeployError(
                f"nginx refuses its configuration with the switch to slot {to} ({why})"
            )
        write_atomically(self.paths.upstream, self.upstream(to))
        reloaded, why = self.system.reload_nginx()
        if reloaded and self.seen_serving(to):
            return
        write_atomically(self.paths.upstream, self.upstream(back))
        self.system.reload_nginx()
        self.seen_serving(back)
        raise DeployError(
            f"nginx did not take the switch to slot {to} "
            + (f"(its reload failed: {why})" if not reloaded else f"within {VERIFY_SECONDS} s")
            + "; its upstream is back as it was"
        )

    def seen_serving(self, slot: str) -> bool:
        """nginx answers from ``slot`` three times in a row (new connections: a worker of
        the configuration before may still take one just after the reload)."""
        deadline = self.system.monotonic() + VERIFY_SECONDS
        seen = 0
        while seen < 3:
            seen = (
                seen + 1
                if self.system.get(80, "/.matra/health")[1] == self.config.ports[slot]
                else 0
            )
            if self.system.monotonic() >= deadline:
                return False
            self.system.sleep(0.1)
        return True

    # -- a release ----------------------------------------------------------------------

    def check(self, ref: Release) -> tuple[Release, str]:
        """``ref`` with its digest, its image here, and how: present, pulled or recorded.
        Only what is missing is pulled. A tag is the registry's, or, when the registry
        can't be asked, what this host recorded under it (whose image it still holds)."""
        image = self.config.image
        if ref.digest:
            if self.system.digest_of(f"{image}@{ref.digest}"):
                return ref, "present"
            digest, why = self.system.pull(f"{image}@{ref.digest}")
            self.going()
            if not digest:
                raise DeployError(f"{image}@{ref.digest} can't be pulled on this host ({why})")
            return ref, "pulled"
        digest, why = self.system.pull(f"{image}:{ref.tag}")
        self.going()
        if digest:
            return Release(ref.tag, digest), "pulled"
        record = Record.read(self.paths.record)
        for known in (record.release, record.previous) if record else ():
            if known and known.tag == ref.tag and self.system.digest_of(f"{image}@{known.digest}"):
                return known, "recorded"
        raise DeployError(
            f"{image}:{ref.tag} can't be pulled on this host (not in the registry, or no "
            f"access: {why})"
        )

    def deploy(self, ref: Release, watch: int) -> str:
        """``ref`` serves here, and has for ``watch`` seconds: the line that says so.
        Raises DeployError or AbandonedError with what served before serving again."""
        current = self.reconcile()
        ref, _ = self.check(ref)
        old = current.slot if current else "b"  # a host that runs nothing starts in a
        new, was = other(old), current.release.short if current else "nothing"
        port = self.config.ports[new]
        env, compose = self.fingerprints()
        started = self.system.monotonic()
        try:
            self.start(new, ref)
            gated = self.system.monotonic() - started
            workers = self.system.nginx_workers()
            with self.uninterrupted():
                self.switch(new, old)
            switched = self.system.monotonic() - started - gated
        except (DeployError, AbandonedError) as error:
            with self.uninterrupted():
                self.system.compose(new, ref, "down", "--timeout", "5")
            if isinstance(error, DeployError):
                raise DeployError(f"{error}; {serving(current)}") from None
            raise
        kept = (
            current.previous
            if current and current.release == ref
            else (current.release if current else None)
        )
        with self.uninterrupted():
            self.commit(Record(new, port, ref, kept, env, compose, self.system.now()))
        self.say(
            f"{ref.short} serves on slot {new} (healthy after {gated:.1f} s, switched in "
            f"{switched:.2f} s); watching it {watch} s"
        )
        try:
            self.watch(new, watch)
        except (DeployError, AbandonedError) as error:
            self.say(f"{ref.short} {error}: switching back to {was}")
            with self.uninterrupted():
                try:
                    self.switch(old, new)
                except DeployError as stuck:
                    raise DeployError(
                        f"{ref.short} {error}; switching back failed ({stuck}): {ref.short} "
                        "still serves here"
                    ) from None
                self.commit(current)
                self.system.compose(new, ref, "down", "--timeout", "5")
            if isinstance(error, AbandonedError):
                raise
            back = f"switched back to {was}, which serves" if current else "it is stopped"
            raise DeployError(f"{ref.short} {error}; {back}") from None
        with self.uninterrupted():
            self.drain(workers)
            if current is not None:
                self.system.compose(
                    old, current.release, "down", "--timeout", str(self.config.stop_timeout)
                )
        return (
            f"{ref} serves on slot {new} (port {port}; was {was}; healthy after {gated:.1f} s, "
            f"switched in {switched:.2f} s, watched {watch} s)"
        )

    def start(self, slot: str, ref: Release) -> None:
        """``ref`` up in ``slot`` and answering its health path GATE_PASSES times in a row,
        1 s apart, within the health timeout."""
        self.system.compose(slot, ref, "down", "--timeout", "5")
        self.say(f"starting {ref.short} in slot {slot} (port {self.config.ports[slot]})")
        if not self.system.compose(
            slot, ref, "up", "--detach", "--no-build", "--pull", "never", "app"
        ):
            self.going()
            raise DeployError(f"{ref.short} did not start")
        deadline = self.system.monotonic() + self.config.health_timeout
        passed = 0
        while True:
            self.going()
            container = self.system.container(slot)
            if container is None or not container.running or self.system.monotonic() > deadline:
                raise DeployError(
                    f"{ref.short} failed its health check (GET {self.config.health_path} on "
                    f"port {self.config.ports[slot]} within {self.config.health_timeout} s)"
                )
            passed = passed + 1 if self.healthy(slot) else 0
            if passed >= GATE_PASSES:
                return
            self.system.sleep(1)

    @contextlib.contextmanager
    def uninterrupted(self) -> Iterator[None]:
        """A signal or a closed session waits until this is over (a switch, a record)."""
        self.holding += 1
        try:
            yield
        finally:
            self.holding -= 1

    def watch(self, slot: str, seconds: int) -> None:
        """The release in ``slot`` takes the traffic for ``seconds``: nginx keeps sending
        it there, it answers its health path, its container neither stops nor restarts."""
        first = self.system.container(slot)
        started = self.system.monotonic()
        failures = 0
        while (elapsed := self.system.monotonic() - started) < seconds:
            self.going()
            now = self.system.container(slot)
            if (
                first is None
                or now is None
                or not now.running
                or (now.restarts, now.started_at) != (first.restarts, first.started_at)
            ):
                raise DeployError(f"restarted {elapsed:.0f} s into its watch")
            status, port = self.system.get(80, "/.matra/health")
            healthy = status is not None and 200 <= status < 300
            failures = 0 if healthy and port == self.config.ports[slot] else failures + 1
            if failures >= WATCH_FAILURES and port != self.config.ports[slot]:
                raise DeployError(f"stopped being what nginx serves {elapsed:.0f} s into its watch")
            if failures >= WATCH_FAILURES:
                answer = f"answered {status}" if status is not None else "did not answer"
                raise DeployError(
                    f"turned unhealthy {elapsed:.0f} s into its watch "
                    f"(GET {self.config.health_path} {answer})"
                )
            self.system.sleep(0.5)

    def drain(self, workers: set[int]) -> None:
        """Until nginx's workers from before the switch have finished their requests."""
        deadline = self.system.monotonic() + self.config.drain_timeout
        while any(map(self.system.alive, workers)) and self.system.monotonic() < deadline:
            self.system.sleep(0.1)

    # -- the other commands ---------------------------------------------------------------

    def refresh(self, watch: int) -> str:
        record = self.reconcile()
        if record is None:
            return "no release runs here: nothing to refresh"
        if (record.env_sha256, record.compose_sha256) == self.fingerprints():
            return f"{record.release.short} runs with this host's .env and compose file"
        self.say(
            f"{record.release.short} started with another .env or compose file: redeploying it"
        )
        return self.deploy(record.release, watch)

    def bootstrap(self) -> str:
        if (record := self.reconcile()) is not None:
            return f"{record.release.short} runs here already"
        source, ref = self.config.release_source, None
        for attempt in range(3 if source else 0):
            try:
                ref = Release.read(self.system.fetch(source).strip())
                break
            except urllib.error.HTTPError:
                break  # it answers, and serves no release: no host records one yet
            except OSError:
                self.system.sleep(2 * (attempt + 1))
        if ref is None:
            # No host records a release yet (a new stack, or the first update of a fleet
            # the seed's deploy ran): `latest`, which that deploy ran, if the registry has it.
            try:
                ref, _ = self.check(Release("latest"))
            except DeployError:
                return (
                    f"no release is served at {source or 'the ingress'} yet, and the registry "
                    "holds no latest; deploy one (make deploy)"
                )
            self.say(f"no release is served at {source or 'the ingress'} yet; starting latest")
        return self.deploy(ref, 0)

    def status(self) -> str:
        """What serves, from nginx and Docker (the record only says what ran before it).
        Takes no lock, writes nothing."""
        record = Record.read(self.paths.record)
        slot = self.served_slot()
        container = self.system.container(slot) if slot else None
        release = container.release if container else None
        status, port = self.system.get(80, "/.matra/health")
        healthy = (
            slot is not None
            and port == self.config.ports[slot]
            and status is not None
            and (200 <= status < 300)
        )
        previous = record.previous if record else legacy_previous(self.paths)
        env = "unknown"
        if record and record.env_sha256:
            env = (
                "current"
                if (record.env_sha256, record.compose_sha256) == self.fingerprints()
                else "stale"
            )
        consistent = bool(
            record and container and (record.slot, record.release) == (slot, container.release)
        )
        words = {
            "release": release.tag if release else "none",
            "digest": (release.digest if release else "") or "none",
            "previous": previous.tag if previous else "none",
            "previous_digest": (previous.digest if previous else "") or "none",
            "slot": slot if container else "none",
            "port": str(self.config.ports[slot]) if slot and container else "none",
            "healthy": "yes" if healthy else "no",
            "env": env,
            "consistent": "yes" if consistent else "no",
            "busy": holder(self.paths) or "no",
            "image": self.config.image,
        }
        return " ".join(f"{key}={value}" for key, value in words.items())


def other(slot: str) -> str:
    return "b" if slot == "a" else "a"


def serving(current: Record | None) -> str:
    return f"{current.release.short} keeps serving" if current else "nothing served here before"


def legacy_release(paths: Paths) -> Release | None:
    """What the entry point before this one recorded (release: a tag)."""
    tag = first_line(paths.release).partition("@")[0]
    return Release(tag) if tag else None


def legacy_previous(paths: Paths) -> Release | None:
    tag = first_line(paths.app / "release.previous")
    return Release(tag) if tag else None


# --- the lock and the runs' results ----------------------------------------------------


@dataclass
class Run:
    """One run that changes the host."""

    id: str
    command: str
    ref: str = ""
    started: str = ""
    ended: str = ""
    outcome: str = "running"
    """running, then served, failed, abandoned or busy."""
    message: str = ""
    serves: str = ""
    """What the host served when it ended."""
    pid: int = field(default_factory=os.getpid)


def holder(paths: Paths) -> str:
    """What holds the host's lock ("" if nothing): COMMAND:REF:since=TIME."""
    try:
        descriptor = os.open(paths.lock, os.O_RDONLY)
    except FileNotFoundError:
        return ""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return ""
    except BlockingIOError:
        pass
    finally:
        os.close(descriptor)
    try:
        run = json.loads(paths.operation.read_text(encoding="utf-8"))
        return f"{run['command']}:{run.get('ref') or '-'}:since={run['started']}"
    except (OSError, ValueError, KeyError):
        return "another-run"


@contextlib.contextmanager
def locked(paths: Paths, run: Run, host: Host, wait: int) -> Iterator[None]:
    """The host's lock for ``run``, waited for up to ``wait`` seconds (saying for what)."""
    paths.state.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(paths.lock, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pass
            host.going()
            if time.monotonic() >= deadline:
                raise BusyError(
                    f"the host stayed busy for over {wait} s ({holder(paths)}); nothing changed"
                )
            if not told:
                host.say(f"waiting for the host's lock, held by {holder(paths)}")
                told = True
            time.sleep(0.5)
        run.started = utc_now()
        write_atomically(paths.operation, json.dumps(dataclasses.asdict(run)) + "\n")
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            if run.started:
                paths.operation.unlink()
        os.close(descriptor)


def save(paths: Paths, run: Run) -> None:
    run.ended = utc_now()
    run.started = run.started or run.ended
    write_atomically(
        paths.results / f"{run.started}-{run.id}.json", json.dumps(dataclasses.asdict(run)) + "\n"
    )
    for old in sorted(paths.results.glob("*.json"))[:-RESULTS_KEPT]:
        old.unlink(missing_ok=True)


def result(paths: Paths, run_id: str) -> dict[str, Any]:
    for path in sorted(paths.results.glob(f"*-{run_id}.json"), reverse=True):
        return dict(json.loads(path.read_text(encoding="utf-8")))
    with contextlib.suppress(OSError, ValueError):
        running = json.loads(paths.operation.read_text(encoding="utf-8"))
        if running.get("id") == run_id and holder(paths):
            return {**running, "outcome": "running"}
    return {"id": run_id, "outcome": "unknown", "message": "no run with this id on this host"}


# --- the command line --------------------------------------------------------------------


class Output:
    """Lines to the session (stdout; errors to stderr) and to the journal. When the
    session can take no more, ``gone`` is told."""

    def __init__(self) -> None:
        self.gone: Callable[[str], None] = lambda why: None
        try:
            import syslog

            syslog.openlog("matra-deploy", syslog.LOG_PID, syslog.LOG_DAEMON)
            self.syslog: Any = syslog
        except ImportError:  # pragma: no cover (CPython on Linux has it)
            self.syslog = None

    def __call__(self, text: str, *, error: bool = False) -> None:
        if self.syslog is not None:
            self.syslog.syslog(self.syslog.LOG_ERR if error else self.syslog.LOG_INFO, text)
        try:
            stream = sys.stderr if error else sys.stdout
            stream.write(f"matra-deploy: {text}\n")
            stream.flush()
        except OSError:
            self.gone("its session closed")


def follow_session(end: Callable[[str], None]) -> None:
    """Standard input is the deploy command's session, which sends a heartbeat (a line)
    every HEARTBEAT seconds: when it closes, or goes silent for SILENCE seconds (the
    command or the network is gone; sshd's own keepalive takes longer), the run ends."""

    def read() -> None:
        heard = time.monotonic()
        try:
            while True:
                if select.select([0], [], [], 1)[0]:
                    if not os.read(0, 4096):
                        break
                    heard = time.monotonic()
                elif time.monotonic() - heard > SILENCE:
                    gone = "the deploy command or its network is gone"
                    end(f"its session went silent for {SILENCE} s ({gone})")
                    return
        except OSError:
            pass
        end("its session closed (the deploy command is gone)")

    threading.Thread(target=read, daemon=True).start()


def main(
    argv: Sequence[str],
    *,
    config_path: Path = Path("/etc/matra/deploy.env"),
    paths: Paths | None = None,
    system: System | None = None,
    handle_signals: bool = True,
    session: Callable[[Callable[[str], None]], None] | None = None,
) -> int:
    """The command line; ``session`` watches a deploy command's session (standard input
    by default) and calls what it is given when the session is gone."""
    paths = paths or Paths()
    say = Output()
    try:
        config = Config.read(config_path)
    except (OSError, KeyError, ValueError) as error:
        say(f"{config_path} can't be read ({error}); run host setup (pulumi up)", error=True)
        return EXIT_FAILED
    host = Host(config, paths, system or System(config, paths), say)
    args = list(argv)
    command, rest = (args[0], args[1:]) if args else ("", [])

    def usage(problem: str) -> int:
        say(f"{problem}; {USAGE}", error=True)
        return EXIT_USAGE

    if (command, len(rest)) == ("status", 0):
        print(host.status(), flush=True)
        return 0
    if (command, len(rest)) == ("history", 0):
        for path in sorted(paths.results.glob("*.json"))[-20:]:
            run = json.loads(path.read_text(encoding="utf-8"))
            what = f"{run['command']} {run['ref'] or '-'}"
            say(f"{run['started']} {run['id']} {what} {run['outcome']}: {run['message']}")
        return 0
    if (command, len(rest)) == ("upstream", 0):
        say(host.ensure_upstream())
        return 0
    if (command, len(rest)) == ("result", 1):
        if not RUN_ID.fullmatch(rest[0]):
            return usage(f"{rest[0]!r} is not a run id (16 hex digits)")
        print(json.dumps(result(paths, rest[0])), flush=True)
        return 0
    if (command, len(rest)) == ("check", 1):
        if (ref := Release.read(rest[0])) is None:
            return usage(f"{rest[0]!r} is not a release (TAG or TAG@sha256:<64 hex>)")
        try:
            found, how = host.check(ref)
        except DeployError as error:
            say(str(error), error=True)
            return EXIT_FAILED
        say(f"{config.image}@{found.digest} ({found.tag}): {how}")
        print(f"digest={found.digest} source={how}", flush=True)
        return 0

    # What changes the host: one run at a time, each with its result kept.
    limits = {"deploy": 3, "rollback": 1, "redeploy": 1, "refresh": 1, "bootstrap": 0}
    if command not in limits or len(rest) > limits[command] or (command == "deploy" and not rest):
        return usage(f"not a command: {' '.join(args)!r}" if args else "no command")
    ref = Release.read(rest.pop(0)) if command == "deploy" else None
    if command == "deploy" and ref is None:
        return usage(f"{args[1]!r} is not a release (TAG or TAG@sha256:<64 hex>)")
    watch = config.watch
    if rest:
        if not rest[0].isdigit() or int(rest[0]) > WATCH_MAX:
            return usage(f"{rest[0]!r} is not a watch in whole seconds (0-{WATCH_MAX})")
        watch = int(rest[0])
    run = Run(id=os.urandom(8).hex(), command=command, ref=str(ref or ""))
    if len(rest) == 2:
        if not RUN_ID.fullmatch(rest[1]):
            return usage(f"{rest[1]!r} is not a run id (16 hex digits)")
        run.id = rest[1]

    def end(why: str) -> None:
        host.stop_reason = host.stop_reason or why

    if handle_signals:
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(
                number, lambda signum, _: end(f"it was sent {signal.Signals(signum).name}")
            )
    if len(rest) == 2:
        # The deploy command's run: its session going ends it.
        say.gone = end
        (session or follow_session)(end)
    try:
        with locked(paths, run, host, config.lock_wait):
            try:
                run.message = act(host, command, ref, watch, run)
                run.outcome = "served"
            except DeployError as error:
                run.outcome, run.message = "failed", str(error)
            except AbandonedError as error:
                record = Record.read(paths.record)
                run.outcome = "abandoned"
                run.message = (
                    f"abandoned: {error}; {record.release.short if record else 'nothing'} serves"
                )
            finally:
                record = Record.read(paths.record)
                run.serves = str(record.release) if record else ""
                save(paths, run)
    except BusyError as error:
        run.outcome, run.message = "busy", str(error)
        save(paths, run)
    except AbandonedError as error:
        run.outcome, run.message = "abandoned", f"abandoned before it began: {error}"
        save(paths, run)
    if run.outcome == "served":
        say(f"done: {run.message}")
        return 0
    say(run.message, error=True)
    return {"failed": EXIT_FAILED, "abandoned": EXIT_ABANDONED, "busy": EXIT_BUSY}[run.outcome]


def act(host: Host, command: str, ref: Release | None, watch: int, run: Run) -> str:
    if command == "deploy":
        assert ref is not None
        return host.deploy(ref, watch)
    if command == "refresh":
        return host.refresh(watch)
    if command == "bootstrap":
        return host.bootstrap()
    record = host.reconcile()
    if record is None:
        raise DeployError("no release runs on this host yet")
    target = record.release if command == "redeploy" else record.previous
    if target is None:
        raise DeployError("no previous release recorded on this host")
    run.ref = str(target)
    return host.deploy(target, watch)


if __name__ == "__main__":
    code = main(sys.argv[1:])
    try:
        sys.stdout.flush()
    except OSError:  # its session is gone: nothing more to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(code)
