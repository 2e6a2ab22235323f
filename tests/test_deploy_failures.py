"""The deploy when things go wrong, on the real-host rig (tests/rig.py: three test hosts
set up by the program's scripts, a registry, HAProxy with the prod stack's health check,
clients sending requests through it the whole time). One test per failure class, each
counting the requests that failed through the balancer and reading every host's end state
(what it records, what its nginx serves, whether the two agree, how long a deploy kept
running on it), printed as one line and appended to $MATRA_SCENARIO_LOG when set:

- a release that passes the health gate and turns unhealthy (flap) or crashes 12 s later;
- a switch that fails: nginx refuses its configuration, or a reload that doesn't take;
- the local command killed in a host's health gate, or after its switch;
- Ctrl-C during a rollout;
- the SSH path to a host lost in the middle of its swap;
- the registry down for a rollback and for redeploying the running release;
- the seed's `docker-compose pull && up -d`, a `.env` from `pulumi up`, and `pulumi up`'s
  host setup, during a deploy.

What triggers each one is what the hosts show (two slot containers running: the new
release is in its health gate; the host's nginx answers with the new release: it has
switched), not the command's own lines."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rig import (
    ON_TEST_HOSTS,
    QUICK,
    ApiHost,
    DeployRun,
    Fleet,
    Load,
    Release,
    dotenv,
    fleet,
    wait_until,
)

RELEASES = [
    Release("latest"),
    Release("v1"),
    Release("v2"),
    # Healthy through the gate, then the health path answers 404 (it still serves).
    Release("flap", fails_after=12, failure="flap"),
    # Healthy through the gate, then the process exits (and again after each restart).
    Release("crash", fails_after=12, failure="crash"),
]

pytestmark = ON_TEST_HOSTS

GATE_WATCH = ("--canary-watch", "8", "--watch", "1")
"""Watches long enough to act on the first host while its deploy is under way."""


@pytest.fixture(scope="module")
def rig() -> Iterator[Fleet]:
    with fleet(3, RELEASES, health_timeout=20) as rig:
        rig.deploy_and_balance("v1")
        yield rig


def ensure(rig: Fleet, release: str, previous: str | None = None) -> None:
    """Every host runs ``release`` (after ``previous``, if given), healthy, and the
    balancer has every host up again."""
    wanted = [previous, release] if previous else [release]
    if [r for r, _ in rig.releases()] != [release] * 3 or (
        previous and [p for _, p in rig.releases()] != [previous] * 3
    ):
        for tag in wanted:
            done = rig.deploy("--release", tag, *QUICK)
            assert done.returncode == 0, done.stdout + done.stderr
    assert rig.balancer is not None
    rig.balancer.wait_until_all_up()


def detection_seconds(rig: Fleet) -> int:
    """How long the balancer takes to mark a failing host down (threshold x interval)."""
    check = rig.program["healthCheck"]
    return int(check["unhealthy_threshold"]) * int(check["interval_seconds"])


def in_its_gate(host: ApiHost, old: str) -> None:
    """Until ``host`` has its new release up beside the old one, not yet switched."""
    wait_until(
        f"{host.name} starting its new release",
        lambda: host.running_slots() == 2 and host.serves() == old,
        120,
    )


def switched(host: ApiHost, new: str) -> None:
    """Until ``host``'s nginx answers with ``new``."""
    wait_until(f"{host.name} serving {new}", lambda: host.serves() == new, 120)


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def during_a_deploy(
    rig: Fleet,
    at: str,
    meanwhile: Callable[[DeployRun], None] = lambda run: None,
    *,
    flags: tuple[str, ...] = (),
    beside: str = "",
    stdin: str = "",
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str] | None, Load]:
    """Under load, a deploy of v2 (with ``flags``). Once the first host is ``at`` its point
    ("switched" to v2, or has it "in its gate"), the command ``beside`` (with ``stdin``)
    runs on that host over SSH in a thread of its own and ``meanwhile`` is done to the run.
    When the deploy (and ``beside``) ended and 50 more requests went through: the deploy's
    result, ``beside``'s (None without one), and the load."""
    assert at in ("switched", "in its gate"), at
    first = rig.hosts[0]
    results: list = []
    thread = (
        threading.Thread(target=lambda: results.append(first.host.ssh(beside, stdin, 600)))
        if beside
        else None
    )
    with rig.under_load() as load:
        load.wait_for(50)
        run = rig.start_deploy("--release", "v2", *flags)
        if at == "switched":
            switched(first, "v2")
        else:
            in_its_gate(first, "v1")
        if thread:
            thread.start()
        meanwhile(run)
        done = run.finish()
        if thread:
            thread.join(timeout=600)
        load.wait_for(load.total + 50)
    if thread:
        (result,) = results
        return done, result, load
    return done, None, load


def assert_holds(rig: Fleet, outcome, release: str) -> None:
    """Every host records ``release``, serves it, healthy, and the balancer has them up."""
    for end in outcome.hosts:
        assert (end.recorded.partition("@")[0], end.serves, end.healthy) == (
            release,
            release,
            True,
        ), outcome.line()
        assert end.busy_after < 1, outcome.line()
    assert set(outcome.balancer.values()) == {"UP"}, outcome.line()


def never_ran(host: ApiHost, release: str) -> bool:
    """No deploy of ``release`` ever ran on ``host`` (its deploy history)."""
    history = host.host.ssh("sudo /usr/local/sbin/matra-deploy history")
    assert history.returncode == 0, history.stderr
    return not re.search(rf"\b{re.escape(release)}[@ ]", history.stdout)


def key_material_left(rig: Fleet) -> list[str]:
    """Files under the temporary directory holding the deploy key (but the rig's own):
    its private part, the last full line of its base64 (the first lines are the same in
    every OpenSSH ed25519 key). Directories that come and go meanwhile are passed over."""
    body = rig.key.private.strip().splitlines()[-3]
    found = []
    for directory, _, files in os.walk(tempfile.gettempdir()):
        if Path(directory) == rig.key.work or rig.key.work in Path(directory).parents:
            continue
        for name in files:
            path = Path(directory) / name
            try:
                if not path.is_symlink() and body in path.read_text(errors="ignore"):
                    found.append(str(path))
            except OSError:
                continue
    return found


@pytest.mark.parametrize(
    "release, how", [("flap", "answers 404 on its health path"), ("crash", "exits")]
)
def test_a_release_that_fails_after_its_gate_is_switched_back_on_the_first_host(rig, release, how):
    """Healthy through the gate, then it {how} 12 s after its start: the first host's watch
    (the balancer's detection time, from the stack's healthCheck) sees it and switches back;
    the rollout stops there with one line and exit 1; the other hosts never run it; the
    balancer never marks a host down. The load runs on for the balancer's detection time
    and one more interval after the command ends, so a failure it would see shows."""
    ensure(rig, "v1")
    with rig.under_load() as load:
        load.wait_for(50)
        done = rig.deploy("--release", release)
        time.sleep(detection_seconds(rig) + 10)
    outcome = rig.outcome(release, done, load)
    assert done.returncode == 1, done.stdout + done.stderr
    first = rig.hosts[0]
    error = one_line(done.stderr)
    assert error.startswith(f"deploy: error: {first.name} ({first.address}): {release}@sha256:")
    assert "switched back to v1" in error and error.endswith("2 hosts not deployed"), error
    assert_holds(rig, outcome, "v1")
    if release == "flap":
        # It still served /version: no request failed at all.
        assert outcome.failed == 0, outcome.line()
    else:
        # Requests fail only while the crashed process is down, before the switch back.
        times = [at for at, _ in load.failures]
        assert not times or max(times) - min(times) < 3, outcome.line()
    for host in rig.hosts[1:]:
        assert never_ran(host, release), host.name


@pytest.mark.parametrize("fault", ["nginx refuses its configuration", "a reload that never takes"])
def test_a_switch_that_fails_changes_nothing_and_the_next_deploy_is_clean(rig, fault):
    """The first host's switch fails: its nginx refuses the configuration (another site's
    file is broken), or the reload never takes effect. The host keeps serving v1, records
    v1, the new release's container is gone and the rollout stops there; with the fault
    fixed, the next deploy reaches every host. Not one request fails in either."""
    ensure(rig, "v1")
    first = rig.hosts[0].host
    if fault.startswith("nginx"):
        broken = "echo 'this is not nginx;' | sudo tee /etc/nginx/conf.d/zz-broken.conf"
        fixed = "sudo rm /etc/nginx/conf.d/zz-broken.conf"
    else:
        broken = (
            "sudo cp /usr/local/sbin/systemctl /usr/local/sbin/systemctl.real && "
            "printf '%s\\n' '#!/bin/sh' '[ \"$1 ${2:-}\" = \"reload nginx\" ] && exit 0' "
            "'exec /usr/local/sbin/systemctl.real \"$@\"' "
            "| sudo tee /usr/local/sbin/systemctl >/dev/null"
        )
        fixed = "sudo mv /usr/local/sbin/systemctl.real /usr/local/sbin/systemctl"
    with rig.under_load() as load:
        load.wait_for(50)
        assert first.ssh(broken).returncode == 0
        try:
            failed = rig.deploy("--release", "v2", *QUICK)
            middle = [h.end_state() for h in rig.hosts]
        finally:
            assert first.ssh(fixed).returncode == 0
        done = rig.deploy("--release", "v2", *QUICK)
        load.wait_for(load.total + 50)
        time.sleep(detection_seconds(rig) + 10)
    outcome = rig.outcome(
        f"switch failure ({fault})",
        done,
        load,
        failed_deploy=failed.returncode,
        between=[str(end) for end in middle],
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    error = one_line(failed.stderr)
    assert re.search(r"; v1@sha256:[0-9a-f]{12} keeps serving; stopped there, 2 hosts", error)
    assert [(m.recorded.partition("@")[0], m.serves, m.healthy) for m in middle] == [
        ("v1", "v1", True)
    ] * 3, middle
    assert done.returncode == 0, done.stdout + done.stderr
    assert outcome.failed == 0, outcome.line()
    assert_holds(rig, outcome, "v2")


@pytest.mark.parametrize("point", ["in its health gate", "after its switch"])
def test_a_killed_deploy_leaves_the_host_where_it_was_and_no_key_behind(rig, point):
    """The command (its whole process group, as a cancelled CI job) is killed while the
    first host has v2 in its health gate, or has switched to it and watches it. The host
    notices its session is gone, puts v1 back and frees its lock within seconds; nothing
    of the deploy key is left on this machine; the next deploy is clean."""
    ensure(rig, "v1")
    first = rig.hosts[0]
    with rig.under_load() as load:
        load.wait_for(50)
        run = rig.start_deploy("--release", "v2")
        if point == "in its health gate":
            in_its_gate(first, "v1")
        else:
            switched(first, "v2")
            time.sleep(1)
        killed_at = time.monotonic()
        run.signal(signal.SIGKILL)
        killed = run.finish()
        wait_until(f"{first.name} idle", lambda: not first.deploying(), 180)
        idle_after = time.monotonic() - killed_at
        left = key_material_left(rig)
        outcome = rig.outcome(
            f"killed {point}",
            killed,
            load,
            host_busy_after_kill=round(idle_after, 1),
            key_files_left=len(left),
        )
        again = rig.deploy("--release", "v2", *QUICK)
        load.wait_for(load.total + 50)
    assert killed.returncode == -signal.SIGKILL
    assert idle_after < 20, outcome.line()
    assert left == [], left
    assert outcome.failed == 0, outcome.line()
    assert_holds(rig, outcome, "v1")
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(load.failures) == 0, load.summary()
    assert [h.serves() for h in rig.hosts] == ["v2"] * 3


def test_ctrl_c_stops_after_the_host_in_flight_and_says_what_every_host_runs(rig):
    """Ctrl-C (SIGINT to the command's process group) while the first host watches v2:
    that host finishes, no other host starts, and the command ends with what every host
    runs (exit 130), true to the hosts; no key is left behind."""
    ensure(rig, "v1")
    first = rig.hosts[0]
    done, _, load = during_a_deploy(rig, "switched", lambda run: run.signal(signal.SIGINT))
    outcome = rig.outcome("Ctrl-C", done, load, key_files_left=len(key_material_left(rig)))
    assert done.returncode == 130, done.stdout + done.stderr
    error = one_line(done.stderr)
    assert error.startswith(f"deploy: interrupted: stopped after {first.name}"), error
    assert error.endswith("2 hosts not deployed"), error
    assert [(e.recorded.partition("@")[0], e.serves, e.agrees) for e in outcome.hosts] == [
        ("v2", "v2", True),
        ("v1", "v1", True),
        ("v1", "v1", True),
    ], outcome.line()
    for host, end in zip(rig.hosts, outcome.hosts, strict=True):
        assert f"deploy:   {host.name} ({host.address}): {end.recorded}" in done.stdout
    assert outcome.failed == 0, outcome.line()
    assert key_material_left(rig) == []


def test_ssh_lost_in_the_middle_of_a_swap_is_read_back_and_reported_as_it_is(rig):
    """The first host's SSH path goes silent (every SSH packet dropped, HTTP still flowing)
    once it has switched to v2, for 60 s. The host notices its session is gone and puts v1
    back; the command notices the lost connection, reads the host's outcome back once it
    answers again, reports it as it is, stops there (exit 1) and shows every host."""
    ensure(rig, "v1")
    first = rig.hosts[0]

    def silence_ssh(run: DeployRun) -> None:
        first.host.drop_ssh(dropped=True)
        try:
            time.sleep(60)
        finally:
            first.host.drop_ssh(dropped=False)

    done, _, load = during_a_deploy(rig, "switched", silence_ssh)
    outcome = rig.outcome("SSH lost mid-swap", done, load)
    assert done.returncode == 1, done.stdout + done.stderr
    error = one_line(done.stderr)
    assert error.startswith(f"deploy: error: {first.name} ({first.address}): the connection"), error
    assert re.search(
        r"read back from the host: abandoned: .*; v1@sha256:[0-9a-f]{12} serves;", error
    )
    for host in rig.hosts:
        assert f"deploy:   {host.name} ({host.address}): v1@sha256:" in done.stdout
    assert outcome.failed == 0, outcome.line()
    assert_holds(rig, outcome, "v1")


def test_rollback_and_redeploy_work_with_the_registry_down(rig):
    """The registry goes down. A rollback, and then a redeploy of the running release by
    its tag, start what each host already holds (by its digest): no pull, no failure."""
    ensure(rig, "v2", "v1")
    rig.registry.halt()
    try:
        with rig.under_load() as load:
            load.wait_for(50)
            back = rig.deploy("--rollback", *QUICK)
            again = rig.deploy("--release", "v1", *QUICK)
            load.wait_for(load.total + 50)
    finally:
        rig.registry.resume()
    outcome = rig.outcome(
        "registry down: rollback, then redeploy", again, load, rollback_exit=back.returncode
    )
    assert back.returncode == 0, back.stdout + back.stderr
    assert again.returncode == 0, again.stdout + again.stderr
    assert "the registry did not answer" in again.stdout, again.stdout
    assert outcome.failed == 0, outcome.line()
    assert_holds(rig, outcome, "v1")


def test_the_seeds_compose_commands_during_a_deploy_wait_for_it(rig):
    """`docker-compose pull && docker-compose up -d` in /opt/matra (the seed's deploy, as
    ops) just after the first host has switched to v2: it waits for the deploy, then acts
    on the release the host serves then (v2), changing nothing; no request fails and every
    host's record matches what it serves."""
    ensure(rig, "v1")
    first = rig.hosts[0]
    done, compose, load = during_a_deploy(
        rig,
        "switched",
        flags=GATE_WATCH,
        beside="cd /opt/matra && docker-compose pull && docker-compose up -d",
    )
    outcome = rig.outcome("compose during a deploy", done, load, compose_exit=compose.returncode)
    assert done.returncode == 0, done.stdout + done.stderr
    assert compose.returncode == 0, compose.stderr
    assert "waiting for the deploy" in compose.stderr, compose.stderr
    assert outcome.failed == 0, outcome.line()
    assert_holds(rig, outcome, "v2")
    assert first.running_slots() == 1


def test_a_dotenv_delivered_during_a_deploy_is_applied_and_status_answers(rig):
    """`pulumi up` delivers a new .env to the first host while it has v2 in its gate: the
    delivery waits for the deploy and then applies it (the release starts again beside
    itself with it); `status` answers during the deploy, read-only; nothing fails."""
    ensure(rig, "v1")
    first = rig.hosts[0]
    asked: list = []

    def ask_status(run: DeployRun) -> None:
        time.sleep(1)
        started = time.monotonic()
        asked.append(first.host.ssh("sudo /usr/local/sbin/matra-deploy status", timeout=30))
        asked.append(time.monotonic() - started)

    done, env, load = during_a_deploy(
        rig,
        "in its gate",
        ask_status,
        flags=GATE_WATCH,
        beside=first.contract.env_script(),
        stdin=dotenv(FEATURE_FLAG="on"),
    )
    status, status_seconds = asked
    running = first.host.ssh(
        "sudo docker ps --format '{{.Names}}' | grep '^matra-' "
        "| xargs sudo docker inspect --format '{{json .Config.Env}}'"
    )
    outcome = rig.outcome(
        ".env during a deploy",
        done,
        load,
        delivery_exit=env.returncode,
        status_exit=status.returncode,
        applied="FEATURE_FLAG=on" in running.stdout,
    )
    assert status.returncode == 0 and status_seconds < 5, status.stderr
    assert "busy=" in status.stdout, status.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert env.returncode == 0, env.stdout + env.stderr
    assert "FEATURE_FLAG=on" in running.stdout, running.stdout
    assert "env=current" in first.host.ssh("sudo /usr/local/sbin/matra-deploy status").stdout
    assert outcome.failed == 0, outcome.line()
    assert_holds(rig, outcome, "v2")


def test_host_setup_during_a_deploy_waits_for_it(rig):
    """`pulumi up`'s host setup (the same script, run again) while the first host has v2
    in its gate: it waits for the deploy before it rewrites anything, then finishes; the
    deploy is undisturbed and nothing fails."""
    ensure(rig, "v1")
    first = rig.hosts[0]
    done, again, load = during_a_deploy(
        rig, "in its gate", flags=GATE_WATCH, beside=first.contract.setup_script(rig.key.public)
    )
    outcome = rig.outcome("host setup during a deploy", done, load, setup_exit=again.returncode)
    assert done.returncode == 0, done.stdout + done.stderr
    assert again.returncode == 0, again.stdout + again.stderr
    assert "host-setup: waiting for the deploy in progress on this host" in again.stdout
    assert again.stdout.rstrip().endswith("host-setup: done")
    assert outcome.failed == 0, outcome.line()
    assert_holds(rig, outcome, "v2")
