"""The deploy, proven with real parts: three test hosts (sshd in network namespaces, each
running Docker's engine and nginx) set up by the program's own host-setup scripts, a
real registry holding images built here from busybox-static, HAProxy in front with the
stack's health check, and clients sending requests through it for the whole deploy.
`python -m deploy` runs as the app's workflow runs it: the stack outputs on stdin, over
SSH as the deploy user, host keys checked against sshKnownHosts.

What holds: a release rolls out with no failed request, every host watched before the
next starts; a broken one stops at the first host with every host still serving the one
before; a rollback; a release deployed by digest is that image on every host even after
its tag moves in the registry; `--status` says what each host runs and changes nothing; a
lone host (no load balancer) deploys with no failed request, and a new host serves the
current release from its setup alone; the deploy key runs the deploy and nothing else;
bad input changes nothing anywhere; the rig sends nothing off this machine. The failure
classes (a release failing after its gate, a failed switch, an interrupted deploy...)
are tests/test_deploy_failures.py."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.ssh import SshClient, Target
from rig import (
    BALANCER_PORT,
    HUB_ADDRESS,
    NOWHERE,
    ON_TEST_HOSTS,
    QUICK,
    Fleet,
    Load,
    Release,
    dotenv,
    fleet,
)
from testhost import TEST_RANGE

# `latest` as the seed's deploy left it: what a host starts where no release is recorded.
RELEASES = [
    Release("latest"),
    Release("v1"),
    Release("v2"),
    Release("v3", healthy=False),
    Release("v4"),
    Release("v5"),
]
DIGEST = r"sha256:[0-9a-f]{64}"

pytestmark = ON_TEST_HOSTS


@pytest.fixture(scope="module")
def rig() -> Iterator[Fleet]:
    with fleet(3, RELEASES, health_timeout=20) as rig:
        # No release recorded anywhere: each host started `latest` by itself.
        assert [h.serves() for h in rig.hosts] == ["latest"] * 3
        rig.deploy_and_balance("v1")
        yield rig


def assert_no_failures(load: Load, *served: str) -> None:
    print(load.summary())
    assert load.total >= 50, load.summary()
    assert load.failures == [], load.summary()
    assert set(load.bodies) == set(served), load.summary()


def test_a_release_rolls_out_host_by_host_without_a_failed_request(rig):
    """With the default watches: the first host for the balancer's detection time (the
    healthCheck output's unhealthy threshold x interval), each later one 10 s, each before
    the next host starts."""
    rig.ensure_release("v1")
    before, after = "v1", "v2"
    with rig.under_load() as load:
        load.wait_for(50)
        done = rig.deploy("--release", after)
        load.wait_for(load.total + 50)
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout)
    assert_no_failures(load, before, after)
    # Only the new release answers once the deploy is over.
    assert load.last[after] > load.last[before]
    assert rig.releases() == [(after, before)] * 3
    assert [h.serves() for h in rig.hosts] == [after] * 3
    lines = done.stdout.splitlines()
    # One digest for the whole rollout, every host holding it before the first one changes.
    (pinned,) = set(re.findall(rf"{after}@{DIGEST}", done.stdout))
    assert f"deploy: every host has {pinned} (3 pulled it)" in lines
    # Host by host, each watched (the first for the detection time) before the next.
    check = rig.program["healthCheck"]
    canary = check["unhealthy_threshold"] * check["interval_seconds"]
    progress = [line for line in lines if line.startswith("deploy: [")]
    order = [line.split()[1] for line in progress]
    assert order == sorted(order) and set(order) == {"[1/3]", "[2/3]", "[3/3]"}, progress
    for number, host, watch in zip((1, 2, 3), rig.hosts, (canary, 10, 10), strict=True):
        mine = [line for line in progress if line.startswith(f"deploy: [{number}/3]")]
        assert mine[0].endswith(
            f"deploying {pinned} ({'the canary, ' * (number == 1)}watched {watch} s)"
        )
        assert any(f"watching it {watch} s" in line for line in mine), mine
        assert re.match(
            rf"deploy: \[{number}/3\] {host.name}: done in [0-9.]+ s: {pinned} serves", mine[-1]
        )
        seconds = float(mine[-1].split("done in ")[1].split()[0])
        assert seconds >= watch
    for host in rig.hosts:
        assert (
            f"deploy:   {host.name} ({host.address}): {pinned} (previous {before}@" in done.stdout
        )
    assert lines[-1].startswith(f"deploy: {pinned} serves on all 3 hosts, healthy")


def test_a_broken_release_stops_at_the_first_host_and_every_host_keeps_serving(rig):
    rig.ensure("v2", "v1")
    with rig.under_load() as load:
        load.wait_for(50)
        done = rig.deploy("--release", "v3", *QUICK)
        load.wait_for(load.total + 50)
    assert done.returncode == 1
    error = done.stderr.strip()
    assert "\n" not in error and "Traceback" not in error
    first = rig.hosts[0]
    assert re.match(
        rf"deploy: error: {first.name} \({first.address}\): v3@sha256:[0-9a-f]{{12}} failed "
        r"its health check \(GET /healthz on port 808[01] within 20 s\); "
        r"v2@sha256:[0-9a-f]{12} keeps serving; stopped there, 2 hosts not deployed$",
        error,
    ), error
    assert_no_failures(load, "v2")
    assert rig.releases() == [("v2", "v1")] * 3
    assert [h.serves() for h in rig.hosts] == ["v2"] * 3
    # The broken release's container is gone: only the serving one runs, by its digest.
    running = first.host.ssh(
        "sudo docker ps --quiet | xargs sudo docker inspect --format '{{.Config.Image}}'"
    ).stdout.split()
    assert running == [f"{rig.image}@{first.status()['digest']}"]


def test_a_rollback_puts_every_host_back_without_a_failed_request(rig):
    rig.ensure("v2", "v1")
    with rig.under_load() as load:
        load.wait_for(50)
        done = rig.deploy("--rollback", *QUICK)
        load.wait_for(load.total + 50)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(rf"deploy: rollback: every host goes back to v1@{DIGEST}\n", done.stdout)
    # What each host kept: nothing pulled.
    assert "(none pulled)" in done.stdout
    assert_no_failures(load, "v1", "v2")
    assert rig.releases() == [("v1", "v2")] * 3
    assert [h.serves() for h in rig.hosts] == ["v1"] * 3


def test_the_deploy_key_runs_the_deploy_and_nothing_else(rig):
    host = rig.hosts[0]
    known_hosts = host.host.work / "deploy-known-hosts"
    known_hosts.write_text(host.known_hosts_line() + "\n")
    client = SshClient(user="deploy", key_file=rig.key.path, known_hosts=known_hosts)
    target = Target(host.name, host.address)
    for command in (
        ["id"],
        ["docker", "ps"],
        ["cat", "/opt/matra/.env"],
        ["sh", "-c", "id"],
        ["deploy", "v1;id"],
        ["deploy", "$(id)"],
        ["deploy", "`id`"],
        ["deploy", "v1", "v2"],
        ["deploy", "v1@sha256:1234"],
        ["deploy", "v1", "30", "$(id)"],
        ["deploy", "v1", "-1", "0123456789abcdef"],
        ["result", "../../etc/passwd"],
        ["rollback", "now"],
        ["redeploy"],
        ["bootstrap"],
    ):
        refused = client.run(target, command)
        assert refused.returncode == 2, (command, refused.stdout)
        assert refused.stdout == ""
        assert refused.stderr.startswith("matra-deploy: refused: the deploy key runs only:")
    # What it may do.
    status = client.run(target, ["status"])
    assert status.returncode == 0 and status.stdout.startswith("release=")
    missing = client.run(target, ["check", "v99"])
    assert missing.returncode == 1
    assert f"{rig.image}:v99 can't be pulled on this host" in missing.stderr
    unknown = client.run(target, ["result", "0123456789abcdef"])
    assert json.loads(unknown.stdout)["outcome"] == "unknown"
    # No docker group for it, no read of the .env, and its key file is root's.
    assert "docker" not in host.host.ssh("id -nG deploy").stdout.split()
    assert host.host.ssh("sudo -u deploy cat /opt/matra/.env").returncode != 0
    assert host.host.ssh("sudo -u deploy docker ps").returncode != 0
    assert host.host.stat("/etc/ssh/authorized_keys/deploy") == "644 root root"
    assert host.host.stat("/opt/matra/.env") == "640 root docker"
    assert host.host.stat("/etc/matra/docker/config.json") == "640 root docker"


def test_operators_still_run_the_seeds_commands_by_hand(rig):
    host = rig.hosts[1]
    before = host.status()
    by_hand = host.host.ssh("cd /opt/matra && docker-compose pull && docker-compose up -d")
    assert by_hand.returncode == 0, by_hand.stderr
    ps = host.host.ssh("cd /opt/matra && docker-compose ps --format '{{.Image}} {{.State}}'")
    assert ps.stdout.split() == [f"{rig.image}@{before['digest']}", "running"]
    assert host.serves() == before["release"]
    assert host.status() == before


@pytest.mark.parametrize(
    "case, stdin, args, error",
    [
        (
            "a release not in the registry",
            None,
            ["--release", "v99"],
            "deploy: error: matra-prod-api-0 (10.251.",
        ),
        (
            "a tag that is a shell command",
            None,
            ["--release", "$(reboot)"],
            "deploy: error: --release '$(reboot)': a release tag is",
        ),
        (
            "not JSON",
            "{not json",
            ["--release", "v2"],
            "deploy: error: --outputs standard input: not JSON",
        ),
        (
            "another project's outputs",
            json.dumps({"project": "other"}),
            ["--release", "v2"],
            "deploy: error: outputs: project is 'other', not 'matra-infra'",
        ),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(rig, case, stdin, args, error):
    before = rig.releases()
    done = rig.deploy(*args, stdin=stdin)
    assert done.returncode == 2, case
    assert done.stderr.startswith(error), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert rig.releases() == before


def test_a_release_deployed_by_digest_stays_that_image_when_its_tag_moves(rig):
    """Staging (a host of its own) runs v5; its `--status --json` names v5's digest. The
    tag v5 is then moved in the registry to a new build. Deployed to prod by that digest,
    every prod host runs what staging ran, not the moved tag; the moved tag, deployed by
    its name, is the new build (so the tag did move)."""
    rig.ensure_release("v1")
    staging, _ = rig.new_host("matra-staging-api-0")
    try:
        first = rig.deploy("--release", "v5", *QUICK, hosts=[staging])
        assert first.returncode == 0, first.stdout + first.stderr
        read = rig.deploy("--status", "--json", hosts=[staging])
        assert read.returncode == 0, read.stderr
        pinned = json.loads(read.stdout)["release"]
        assert re.fullmatch(rf"v5@{DIGEST}", pinned)
        rig.push(Release("v5", body="v5, rebuilt"))
        with rig.under_load() as load:
            load.wait_for(50)
            done = rig.deploy("--release", pinned, *QUICK)
            load.wait_for(load.total + 50)
        assert done.returncode == 0, done.stdout + done.stderr
        assert_no_failures(load, "v1", "v5")
        assert [h.serves() for h in rig.hosts] == ["v5"] * 3
        assert {f"{h.status()['release']}@{h.status()['digest']}" for h in rig.hosts} == {pinned}
        # Every host already had it (the check pulled it): nothing pulled the moved tag.
        assert "every host has " + pinned in done.stdout
        # The tag itself moved: deployed by name, it is the new build.
        moved = rig.deploy("--release", "v5", *QUICK, hosts=[staging])
        assert moved.returncode == 0, moved.stdout + moved.stderr
        assert staging.serves() == "v5, rebuilt"
        assert staging.status()["digest"] != pinned.partition("@")[2]
    finally:
        rig.remove(staging)


def test_status_says_what_every_host_runs_and_changes_nothing(rig):
    rig.ensure("v2", "v1")

    def state() -> list[str]:
        return [
            h.host.ssh("sudo cat /opt/matra/current.env /etc/nginx/matra/upstream.conf").stdout
            + h.host.ssh("sudo docker ps --format '{{.ID}} {{.Image}}'").stdout
            for h in rig.hosts
        ]

    before = state()
    human = rig.deploy("--status")
    machine = rig.deploy("--status", "--json")
    assert state() == before
    assert human.returncode == 0 and machine.returncode == 0, human.stderr + machine.stderr
    document = json.loads(machine.stdout)
    assert document["agree"] is True and re.fullmatch(rf"v2@{DIGEST}", document["release"])
    assert [h["name"] for h in document["hosts"]] == [h.name for h in rig.hosts]
    for entry, host in zip(document["hosts"], rig.hosts, strict=True):
        assert entry["address"] == host.address and entry["error"] is None
        assert entry["release"]["ref"] == document["release"]
        assert entry["previous"]["tag"] == "v1" and entry["healthy"] is True
        assert entry["env"] == "current" and entry["consistent"] is True
        line = f"deploy:   {host.name} ({host.address}): {document['release']} (previous v1@"
        assert line in human.stdout
    assert human.stdout.splitlines()[-1] == f"deploy: every host runs {document['release']}"
    # A host that can't be read is named, the others still shown; exit 1.
    gone = rig.outputs()
    gone["deployTargets"] = [*gone["deployTargets"], {"name": "matra-prod-api-3", "ip": NOWHERE}]
    partial = rig.deploy("--status", "--json", stdin=json.dumps(gone))
    assert partial.returncode == 1
    found = json.loads(partial.stdout)
    assert found["release"] is None and found["agree"] is False
    assert "unreachable over SSH" in found["hosts"][3]["error"]
    assert all(h["error"] is None for h in found["hosts"][:3])


def test_the_rig_routes_the_whole_test_range_nowhere_else(rig):
    """Item 7 of issue 22: a test host whose link is down, or an address in the test range
    no host holds, is unreachable here (no route), never sent out by the default route."""
    route = subprocess.run(["ip", "route", "show", TEST_RANGE], capture_output=True, text=True)
    assert route.stdout.split()[:2] == ["unreachable", TEST_RANGE], route.stdout
    host = rig.hosts[2].host
    host.link(up=False)
    try:
        for address in (host.address, NOWHERE):
            got = subprocess.run(["ip", "route", "get", address], capture_output=True, text=True)
            assert got.returncode != 0 or got.stdout.startswith("unreachable"), got
            with pytest.raises(OSError) as refused:
                socket.create_connection((address, 22), timeout=5)
            assert refused.value.errno == 113  # EHOSTUNREACH: refused here, at once
    finally:
        host.link(up=True)
    assert rig.hosts[2].serves() == rig.hosts[2].status()["release"]


def test_an_unknown_host_key_or_an_unreachable_host_changes_nothing(rig, tmp_path):
    before = rig.releases()
    # Host 1 presents another key than the stack pinned: refused before anything is sent.
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    pinned = rig.outputs()
    lines = pinned["sshKnownHosts"].splitlines()
    names = lines[1].split()[0]
    lines[1] = f"{names} {' '.join(Path(f'{stranger}.pub').read_text().split()[:2])}"
    wrong = rig.deploy(
        "--release", "v4", stdin=json.dumps({**pinned, "sshKnownHosts": "\n".join(lines) + "\n"})
    )
    assert wrong.returncode == 2
    assert "its SSH host key is not the one in sshKnownHosts" in wrong.stderr
    assert wrong.stderr.rstrip().endswith("no host was changed")
    # A host nobody answers at (a test address with nothing on it).
    gone = {
        **pinned,
        "deployTargets": [*pinned["deployTargets"], {"name": "matra-prod-api-3", "ip": NOWHERE}],
    }
    unreachable = rig.deploy("--release", "v4", stdin=json.dumps(gone))
    assert unreachable.returncode == 2
    assert f"matra-prod-api-3 ({NOWHERE}): unreachable over SSH" in unreachable.stderr
    assert rig.releases() == before


def test_a_new_host_serves_the_current_release_and_a_lone_host_deploys_without_failures(rig):
    """The program's setup, given the ingress to ask (here the balancer), starts what the
    fleet serves before the host takes traffic; then, as a single-droplet stack, it
    deploys and takes a new .env with no failed request on its own nginx."""
    current = rig.hosts[0].status()
    lone, bootstrap = rig.new_host(
        "matra-dev-api-0", release_source=f"http://{HUB_ADDRESS}:{BALANCER_PORT}/.matra/release"
    )
    try:
        # The same image as the fleet, by its digest (the ingress serves TAG@digest).
        assert re.search(
            rf"matra-deploy: done: {current['release']}@{current['digest']} serves on slot a",
            bootstrap,
        ), bootstrap
        assert lone.serves() == current["release"]
        assert lone.status()["digest"] == current["digest"]

        with Load(lone.address, 80) as load:
            load.wait_for(50)
            done = rig.deploy("--release", "v4", *QUICK, hosts=[lone])
            # A new .env: the running release starts again with it, beside itself.
            changed = lone.host.ssh(lone.contract.env_script(), stdin=dotenv(FEATURE_FLAG="on"))
            load.wait_for(load.total + 50)
        assert done.returncode == 0, done.stdout + done.stderr
        assert changed.returncode == 0, changed.stderr
        assert re.search(rf"matra-deploy: done: v4@{DIGEST} serves on slot a", changed.stdout)
        assert_no_failures(load, current["release"], "v4")
        assert lone.status()["release"] == "v4"
        assert "env=current" in lone.host.ssh("sudo /usr/local/sbin/matra-deploy status").stdout
        env = lone.host.ssh("sudo docker inspect --format '{{json .Config.Env}}' matra-a-app-1")
        assert "FEATURE_FLAG=on" in json.loads(env.stdout)
    finally:
        rig.remove(lone)
