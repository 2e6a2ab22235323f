"""host/matra_deploy.py, the hosts' deploy entry point, against a stand-in for Docker, nginx
and the registry (FakeSystem: containers per slot, the configuration nginx has loaded, what
the registry and the host's image store hold, a clock) with its real files in a temporary
directory: the switch as a transaction, the watch and the switch back, a run cut short,
reconciling what an earlier run left, pulling only what is missing, the read-only status,
the lock, the results. The real-host tests (tests/test_deploy_real.py,
tests/test_deploy_failures.py) run the same file on test hosts with the real parts."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import matra_deploy as md
from contracts import contract_with

IMAGE = "registry.digitalocean.com/matra/api"
PORTS = {"a": 8080, "b": 8081}


def digest(tag: str, build: int = 0) -> str:
    return "sha256:" + hashlib.sha256(f"{tag}/{build}".encode()).hexdigest()


@dataclass
class Box:
    """A slot's container in the stand-in."""

    release: md.Release
    created: float
    stopped: bool = False


class FakeSystem(md.System):
    """Docker, nginx, the registry and time, simulated. ``health[tag](age)`` is what a
    release answers on its health path ``age`` seconds after it started (200 unless set);
    ``crashes[tag]``: it exits every that many seconds (and Docker restarts it)."""

    def __init__(self, config: md.Config, paths: md.Paths) -> None:
        super().__init__(config, paths)
        self.clock = 1000.0
        self.registry: dict[str, str] = {}
        self.registry_up = True
        self.images: set[str] = set()
        self.boxes: dict[str, Box] = {}
        self.loaded: str | None = None
        """The slot nginx sends traffic to (its loaded configuration)."""
        self.nginx_refuses = False
        self.reload_takes = True
        self.health: dict[str, Callable[[float], int | None]] = {}
        self.crashes: dict[str, float] = {}
        self.events: list[str] = []
        self.at: dict[float, Callable[[], None]] = {}
        """Things that happen once the clock passes a time (a signal, a session gone)."""

    # time
    def monotonic(self) -> float:  # type: ignore[override]
        return self.clock

    def sleep(self, seconds: float) -> None:  # type: ignore[override]
        self.clock += seconds
        for when in sorted(self.at):
            if when <= self.clock:
                self.at.pop(when)()

    def now(self) -> str:  # type: ignore[override]
        return f"t{self.clock:.0f}"

    # docker
    def compose(self, slot, release, *args, timeout=120):  # type: ignore[override]
        self.events.append(f"{args[0]} {slot} {release.tag}")
        if args[0] == "down":
            self.boxes.pop(slot, None)
            return True
        assert args[0] == "up"
        if release.digest not in self.images:
            return False
        self.boxes[slot] = Box(release, self.clock)
        return True

    def container(self, slot):  # type: ignore[override]
        box = self.boxes.get(slot)
        if box is None:
            return None
        age = self.clock - box.created
        period = self.crashes.get(box.release.tag)
        restarts = int(age // period) if period else 0
        return md.Container(
            running=not box.stopped,
            release=box.release,
            restarts=restarts,
            started_at=f"{box.created + restarts * (period or 0):.1f}",
        )

    def digest_of(self, reference):  # type: ignore[override]
        wanted = reference.partition("@")[2]
        return wanted if wanted in self.images else ""

    def pull(self, reference):  # type: ignore[override]
        self.events.append(f"pull {reference}")
        if not self.registry_up:
            return "", "Error response from daemon: connection refused"
        _, at, found = reference.partition("@")
        if not at:
            found = self.registry.get(reference.rpartition(":")[2], "")
        if found not in self.registry.values():
            return "", "manifest unknown"
        self.images.add(found)
        return found, ""

    # http and nginx
    def answer(self, slot: str | None) -> int | None:
        box = self.boxes.get(slot) if slot else None
        if box is None or box.stopped:
            return None
        return self.health.get(box.release.tag, lambda age: 200)(self.clock - box.created)

    def get(self, port, path):  # type: ignore[override]
        if port == 80:
            if self.loaded is None:
                return None, None
            status = self.answer(self.loaded)
            return (502 if status is None else status), PORTS[self.loaded]
        return self.answer(self.config.slot_at(port)), None

    def nginx_test(self, upstream):  # type: ignore[override]
        self.events.append(f"nginx -t {upstream.strip()}")
        return (False, "nginx: [emerg] unknown directive") if self.nginx_refuses else (True, "")

    def reload_nginx(self):  # type: ignore[override]
        self.events.append("reload")
        if self.reload_takes:
            text = self.paths.upstream.read_text()
            self.loaded = self.config.slot_at(int(re.search(r":(\d+);", text).group(1)))
        return True, ""

    def nginx_workers(self):  # type: ignore[override]
        return set()

    def fetch(self, url):  # type: ignore[override]
        if "release" not in self.__dict__.get("served_at", {}):
            raise OSError("connection refused")
        return self.served_at["release"]


class World:
    """A host: its files under a temporary directory, FakeSystem for the rest."""

    def __init__(self, tmp: Path, **settings: object) -> None:
        self.paths = md.Paths(
            app=tmp / "opt", nginx=tmp / "nginx", state=tmp / "state", scratch=tmp / "run"
        )
        for directory in (self.paths.app, self.paths.nginx / "matra"):
            directory.mkdir(parents=True)
        contract = contract_with(
            image=IMAGE, release_source="http://api.matra.io/.matra/release", **settings
        )
        self.config_path = tmp / "deploy.env"
        self.config_path.write_text(contract.deploy_env())
        self.config = md.Config.read(self.config_path)
        self.system = FakeSystem(self.config, self.paths)
        (self.paths.app / ".env").write_text("A=1\n")
        (self.paths.app / "docker-compose.yml").write_text("services: {}\n")
        # Host setup's upstream: slot a, nothing behind it yet.
        self.paths.upstream.write_text("server 127.0.0.1:8080;\n")
        self.lines: list[str] = []
        for number, tag in enumerate(("latest", "v0", "v1", "v2", "v3", "flap", "crash")):
            self.system.registry[tag] = digest(tag, number)

    def host(self) -> md.Host:
        return md.Host(self.config, self.paths, self.system, self.lines.append)

    def run(self, *argv: str) -> tuple[int, str, str]:
        return self.main(list(argv))

    def main(self, argv: list[str]) -> tuple[int, str, str]:
        import contextlib
        import io

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = md.main(
                argv,
                config_path=self.config_path,
                paths=self.paths,
                system=self.system,
                handle_signals=False,
                session=lambda end: None,
            )
        return code, out.getvalue(), err.getvalue()

    def ref(self, tag: str) -> md.Release:
        return md.Release(tag, self.system.registry[tag])

    def record(self) -> md.Record | None:
        return md.Record.read(self.paths.record)

    def serving(self) -> tuple[str | None, str | None]:
        """(the slot nginx serves, the tag of the release in it)."""
        slot = self.system.loaded
        box = self.system.boxes.get(slot) if slot else None
        return slot, box.release.tag if box else None

    def deployed(self, *tags: str) -> None:
        for tag in tags:
            code, _, err = self.run("deploy", tag, "0")
            assert code == 0, err


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_a_release_takes_over_and_the_record_says_so(world):
    world.deployed("v1")
    code, out, err = world.run("deploy", "v2", "5")
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == (
        f"matra-deploy: done: v2@{world.ref('v2').digest} serves on slot b (port 8081; was "
        f"{world.ref('v1').short}; healthy after 1.0 s, switched in 0.30 s, watched 5 s)"
    )
    record = world.record()
    assert (record.slot, record.release, record.previous) == ("b", world.ref("v2"), world.ref("v1"))
    assert world.serving() == ("b", "v2")
    assert set(world.system.boxes) == {"b"}
    assert world.paths.release.read_text() == f"{world.ref('v2')}\n"
    assert world.paths.upstream.read_text() == "server 127.0.0.1:8081;\n"
    # The .env and compose file it started with, for refresh.
    assert record.env_sha256 == hashlib.sha256(b"A=1\n").hexdigest()


def test_the_same_release_again_keeps_what_ran_before_it(world):
    world.deployed("v1", "v2", "v2")
    assert world.record().previous == world.ref("v1")


def test_a_release_that_fails_its_health_check_never_takes_traffic(world):
    world.deployed("v1")
    world.system.health["v2"] = lambda age: 404
    code, _, err = world.run("deploy", "v2", "5")
    assert code == 1
    assert err == (
        f"matra-deploy: {world.ref('v2').short} failed its health check (GET /healthz on port "
        f"8081 within 60 s); {world.ref('v1').short} keeps serving\n"
    )
    assert world.serving() == ("a", "v1") and set(world.system.boxes) == {"a"}
    assert world.record().release == world.ref("v1")
    assert "nginx -t server 127.0.0.1:8081;" not in world.system.events


@pytest.mark.parametrize(
    "failure, health, crashes, said",
    [
        (
            "flap",
            lambda age: 200 if age < 12 else 404,
            {},
            "turned unhealthy 12 s into its watch (GET /healthz answered 404)",
        ),
        ("crash", lambda age: 200, {"crash": 12.0}, "restarted 11 s into its watch"),
    ],
)
def test_a_release_that_fails_in_its_watch_is_switched_back(world, failure, health, crashes, said):
    world.deployed("v1")
    world.system.health[failure] = health
    world.system.crashes.update(crashes)
    code, _, err = world.run("deploy", failure, "30")
    assert code == 1
    assert err.startswith(f"matra-deploy: {world.ref(failure).short} {said.split(' (')[0]}")
    assert err.endswith(f"; switched back to {world.ref('v1').short}, which serves\n")
    assert world.serving() == ("a", "v1") and set(world.system.boxes) == {"a"}
    record = world.record()
    assert (record.slot, record.release, record.previous) == ("a", world.ref("v1"), None)
    assert world.paths.release.read_text() == f"{world.ref('v1')}\n"


def test_nginx_refusing_the_new_upstream_changes_nothing(world):
    world.deployed("v1")
    before = world.paths.upstream.read_text()
    world.system.nginx_refuses = True
    code, _, err = world.run("deploy", "v2", "5")
    assert code == 1
    assert err == (
        "matra-deploy: nginx refuses its configuration with the switch to slot b (nginx: "
        f"[emerg] unknown directive); {world.ref('v1').short} keeps serving\n"
    )
    # Tested before it was installed: the installed upstream never changed.
    assert world.paths.upstream.read_text() == before
    assert "reload" not in world.system.events[-3:]
    assert world.serving() == ("a", "v1") and set(world.system.boxes) == {"a"}
    assert world.record().release == world.ref("v1")


def test_a_reload_that_does_not_take_puts_the_upstream_back(world):
    world.deployed("v1")
    world.system.reload_takes = False
    code, _, err = world.run("deploy", "v2", "5")
    assert code == 1
    assert "nginx did not take the switch to slot b within 10 s; its upstream is back" in err
    assert err.endswith(f"{world.ref('v1').short} keeps serving\n")
    assert world.paths.upstream.read_text() == "server 127.0.0.1:8080;\n"
    assert world.serving() == ("a", "v1") and set(world.system.boxes) == {"a"}
    assert world.record().slot == "a"
    # The next deploy, with nginx well again, is clean.
    world.system.reload_takes = True
    world.deployed("v2")
    assert world.serving() == ("b", "v2")


@pytest.mark.parametrize("when", [1003.5, 1010.0])
def test_a_run_whose_session_closes_puts_back_what_served(world, when):
    """At 1003.5 the new release is in its gate; at 1010 it serves and is being watched."""
    world.deployed("v1")
    world.system.clock = 1000.0
    host = world.host()
    world.system.at[when] = lambda: setattr(host, "stop_reason", "its session closed")
    with pytest.raises(md.AbandonedError, match="its session closed"):
        host.deploy(world.ref("v2"), 30)
    assert world.serving() == ("a", "v1") and set(world.system.boxes) == {"a"}
    assert world.record().release == world.ref("v1")


def test_reconcile_takes_what_nginx_serves_and_never_stops_it(world):
    """A run killed between its switch and its record: the record names slot a (v1), nginx
    serves slot b (v2). The next deploy records v2 on b and replaces slot a, never b."""
    world.deployed("v1")
    world.system.images.add(world.ref("v2").digest)
    world.system.compose("b", world.ref("v2"), "up")
    world.system.loaded = "b"
    world.system.events.clear()
    code, out, _ = world.run("deploy", "v3", "0")
    assert code == 0
    assert "recording what nginx serves: slot b" in out
    # Slot b served all along: stopped only once v3 had taken over, never before.
    assert world.system.events.index("down b v2") > world.system.events.index("reload")
    record = world.record()
    assert (record.slot, record.release, record.previous) == ("a", world.ref("v3"), world.ref("v2"))


def test_reconcile_leaves_no_release_in_the_idle_slot(world):
    world.deployed("v1")
    world.system.images.add(world.ref("v2").digest)
    world.system.compose("b", world.ref("v2"), "up")  # left by a killed run, never served
    host = world.host()
    record = host.reconcile()
    assert record.release == world.ref("v1") and set(world.system.boxes) == {"a"}


def test_a_host_from_before_is_taken_over_as_it_serves(world):
    """The entry point before this one: release and release.previous hold tags, the
    upstream is /etc/nginx/matra-upstream.conf, no current.env."""
    world.system.images.add(world.ref("v1").digest)
    world.system.compose("b", world.ref("v1"), "up")
    world.system.loaded = "b"
    world.paths.upstream.unlink()
    (world.paths.app / "release").write_text("v1\n")
    (world.paths.app / "release.previous").write_text("v0\n")
    record = world.host().reconcile()
    assert (record.slot, record.release, record.previous) == (
        "b",
        world.ref("v1"),
        md.Release("v0"),
    )
    assert world.paths.upstream.read_text() == "server 127.0.0.1:8081;\n"
    assert not (world.paths.app / "release.previous").exists()
    # Its .env and compose file are unknown: a refresh starts it again with this host's.
    code, out, _ = world.run("refresh", "0")
    assert code == 0 and "started with another .env or compose file" in out
    assert world.record().env_sha256


def test_check_pulls_only_what_is_missing(world):
    world.deployed("v1", "v2")
    world.system.registry_up = False
    world.system.events.clear()
    # By digest: held here, no pull.
    assert world.host().check(world.ref("v1")) == (world.ref("v1"), "present")
    # By tag with the registry down: what this host recorded under it.
    assert world.host().check(md.Release("v1")) == (world.ref("v1"), "recorded")
    with pytest.raises(md.DeployError, match="v3 can't be pulled on this host"):
        world.host().check(md.Release("v3"))
    assert [e for e in world.system.events if e.startswith("pull")] == [
        f"pull {IMAGE}:v1",
        f"pull {IMAGE}:v3",
    ]


def test_rollback_and_redeploy_need_no_registry(world):
    world.deployed("v1", "v2")
    world.system.registry_up = False
    assert world.run("rollback", "0")[0] == 0
    assert world.serving()[1] == "v1"
    assert world.run("redeploy", "0")[0] == 0
    assert world.run("deploy", "v2", "0")[0] == 0
    assert world.serving()[1] == "v2"


def test_a_moved_tag_does_not_move_a_deploy_by_digest(world):
    world.deployed("v1")
    pinned = world.ref("v1")
    world.system.registry["v1"] = digest("v1", 99)
    code, _, _ = world.run("deploy", str(pinned), "0")
    assert code == 0 and world.record().release == pinned


def test_refresh_redeploys_only_when_the_env_or_compose_file_changed(world):
    world.deployed("v1")
    code, out, _ = world.run("refresh", "0")
    assert code == 0 and "runs with this host's .env and compose file" in out
    assert world.serving() == ("a", "v1")
    (world.paths.app / ".env").write_text("A=2\n")
    code, out, _ = world.run("refresh", "0")
    assert code == 0 and "v1" in out and world.serving() == ("b", "v1")
    assert world.record().env_sha256 == hashlib.sha256(b"A=2\n").hexdigest()


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_status_is_read_only_and_says_what_nginx_serves(world, tmp_path):
    world.deployed("v1", "v2")
    before = snapshot(tmp_path)
    code, out, _ = world.run("status")
    assert snapshot(tmp_path) == before
    v1, v2 = world.ref("v1"), world.ref("v2")
    assert (code, out) == (
        0,
        f"release=v2 digest={v2.digest} previous=v1 previous_digest={v1.digest} "
        f"slot=b port=8081 healthy=yes env=current consistent=yes busy=no image={IMAGE}\n",
    )
    # The record names another slot than nginx serves: status says what nginx serves.
    world.system.compose("a", v1, "up")
    world.system.loaded = "a"
    out = world.run("status")[1]
    assert "release=v1 " in out and "slot=a" in out and "consistent=no" in out


def test_status_answers_while_a_run_holds_the_lock(world):
    world.deployed("v1")
    world.paths.operation.write_text(
        json.dumps({"id": "0" * 16, "command": "deploy", "ref": "v2", "started": "T"})
    )
    holder = os.open(world.paths.lock, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        code, out, _ = world.run("status")
        assert code == 0 and "busy=deploy:v2:since=T" in out
        world.config = md.Config.read(world.config_path)
        object.__setattr__(world.config, "lock_wait", 1)
        world.config_path.write_text(
            world.config_path.read_text().replace("LOCK_WAIT=600", "LOCK_WAIT=1")
        )
        code, out, err = world.run("deploy", "v2", "0")
        assert code == 75
        assert "waiting for the host's lock, held by deploy:v2:since=T" in out
        assert err == (
            "matra-deploy: the host stayed busy for over 1 s (deploy:v2:since=T); nothing changed\n"
        )
    finally:
        os.close(holder)


def test_each_run_leaves_a_result_the_command_can_read_back(world):
    code, _, _ = world.run("deploy", "v1", "0", "0123456789abcdef")
    assert code == 0
    code, out, _ = world.run("result", "0123456789abcdef")
    found = json.loads(out)
    assert (found["outcome"], found["serves"]) == ("served", str(world.ref("v1")))
    assert json.loads(world.run("result", "fedcba9876543210")[1])["outcome"] == "unknown"
    history = world.run("history")[1]
    assert re.search(r" 0123456789abcdef deploy v1 served: v1@sha256:", history)


@pytest.mark.parametrize(
    "argv, said",
    [
        ([], "no command"),
        (["deploy"], "not a command: 'deploy'"),
        (["deploy", "v1;id"], "'v1;id' is not a release"),
        (["deploy", "v1@sha256:abc"], "'v1@sha256:abc' is not a release"),
        (["deploy", "v1", "soon"], "'soon' is not a watch in whole seconds"),
        (["deploy", "v1", "5", "xyz"], "'xyz' is not a run id"),
        (["rollback", "5", "6"], "not a command: 'rollback 5 6'"),
        (["result", "../../etc"], "'../../etc' is not a run id"),
        (["status", "now"], "not a command: 'status now'"),
    ],
)
def test_bad_usage_is_one_line_and_changes_nothing(world, tmp_path, argv, said):
    before = snapshot(tmp_path)
    code, out, err = world.run(*argv)
    assert (code, out) == (2, "")
    assert err.startswith(f"matra-deploy: {said}") and err.count("\n") == 1, err
    assert snapshot(tmp_path) == before


def test_bootstrap_starts_what_the_stack_serves_or_latest(world, tmp_path):
    world.system.served_at = {"release": f"{world.ref('v2')}\n"}
    code, out, _ = world.run("bootstrap")
    assert code == 0 and world.record().release == world.ref("v2")
    assert world.run("bootstrap")[1].endswith("runs here already\n")
    other = World(tmp_path / "other")
    code, out, _ = other.run("bootstrap")
    assert code == 0 and "starting latest" in out
    assert other.record().release == other.ref("latest")
    empty = World(tmp_path / "empty")
    empty.system.registry.pop("latest")
    code, out, _ = empty.run("bootstrap")
    assert code == 0 and "the registry holds no latest; deploy one" in out
    assert empty.record() is None


def test_the_parameters_file_reads_back_as_written():
    contract = contract_with(image=IMAGE, app_port=3000, health_path="/up", health_timeout=20)
    text = contract.deploy_env()
    values = dict(
        shlex.split(line)[0].partition("=")[::2] for line in text.splitlines() if "=" in line
    )
    assert values["MATRA_IMAGE"] == IMAGE and values["MATRA_PORT_B"] == "3001"


@pytest.mark.parametrize(
    "ending, said", [("close", "its session closed"), ("silence", "went silent")]
)
def test_a_deploy_commands_session_ends_the_run_when_it_closes_or_goes_silent(ending, said):
    """follow_session reads the run's standard input (the deploy command's heartbeat):
    closed, or silent for SILENCE seconds (1 here), the run is told at once."""
    import subprocess
    import sys
    import time

    code = (
        "import os, sys, time\n"
        "import matra_deploy as md\n"
        "md.SILENCE = 1\n"
        "md.follow_session(lambda why: (print(why, flush=True), os._exit(0)))\n"
        "time.sleep(20)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(md.__file__).parent)},
    )
    for _ in range(6):  # heartbeats for 3 s: the run goes on
        child.stdin.write("\n")
        child.stdin.flush()
        time.sleep(0.5)
        assert child.poll() is None
    started = time.monotonic()
    if ending == "close":
        child.stdin.close()
    child.wait(timeout=15)
    assert said in child.stdout.read()
    assert time.monotonic() - started < (1 if ending == "close" else 4)


def test_host_setups_upstream_is_written_once_and_kept_under_its_lock(world, tmp_path):
    """`matra-deploy upstream` (host setup's, which holds the host's lock meanwhile): a
    new host's upstream names slot a; a host from before keeps the slot its old upstream
    file named; one there is kept as it is. What it writes is what the deploy reads."""
    world.paths.upstream.unlink()
    world.paths.state.mkdir(parents=True, exist_ok=True)
    with open(world.paths.lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        code, out, _ = world.run("upstream")
    assert (code, out) == (0, "matra-deploy: nginx's upstream names port 8080: written\n")
    assert world.paths.upstream.read_text() == "server 127.0.0.1:8080;\n"
    assert world.host().served_slot() == "a"
    world.paths.upstream.write_text("server 127.0.0.1:8081;\n")
    assert world.run("upstream")[1] == "matra-deploy: nginx's upstream names port 8081: kept\n"
    assert world.host().served_slot() == "b"
    before = World(tmp_path / "before")
    before.paths.upstream.unlink()
    before.paths.legacy_upstream.write_text("server 127.0.0.1:8081;\n")
    assert before.run("upstream")[0] == 0
    assert before.paths.upstream.read_text() == "server 127.0.0.1:8081;\n"


RELEASES = ["v1", "3f9c2ab", "2026-11-27.1", "_x", "A" * 128, f"v1@{digest('v1')}"]
RELEASES += ["A" * 129, "-v1", ".v1", "v1;id", "$(id)", "v1 x", "v1@sha256:12", "v1@"]
RELEASES += [f"v1@{digest('v1').upper()}", f"v1@{digest('v1')}x", ""]


@pytest.mark.parametrize("text", RELEASES)
def test_the_entry_point_takes_exactly_the_releases_the_program_does(world, text):
    """The grammar's one home is matra_data/docker.py, which host setup installs beside
    the entry point: what the deploy command refuses, the entry point refuses as usage."""
    from matra_data.docker import release_problem

    code, _, err = world.run("check", text)
    assert (code == md.EXIT_USAGE) == (release_problem(text) is not None), err
