"""The deploy, proven with real parts: three test hosts (sshd in network namespaces, each
running Docker's engine and nginx) set up by the program's own host-setup scripts, a
real registry holding images built here from busybox-static, HAProxy in front with the
stack's health check, and clients sending requests through it for the whole deploy.
`python -m deploy` runs as the app's workflow runs it: the stack outputs on stdin, over
SSH as the deploy user, host keys checked against sshKnownHosts.

What holds: a release rolls out with no failed request; a broken one stops at the first
host with every host still serving the one before; a rollback; a lone host (no load
balancer) deploys with no failed request, and a new host serves the current release
from its setup alone; the deploy key runs the deploy and nothing else; bad input
changes nothing anywhere."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.ssh import SshClient, Target
from rig import BALANCER_PORT, HUB_ADDRESS, NOWHERE, Fleet, Load, Release, dotenv, fleet
from testhost import NamespaceHost

# `latest` as the seed's deploy left it: what a host starts where no release is recorded.
RELEASES = [
    Release("latest"),
    Release("v1"),
    Release("v2"),
    Release("v3", healthy=False),
    Release("v4"),
]

pytestmark = [
    pytest.mark.host,
    pytest.mark.skipif(
        bool(NamespaceHost.missing_tools()),
        reason=f"test host tools missing: {NamespaceHost.missing_tools()}",
    ),
]


@pytest.fixture(scope="module")
def rig() -> Iterator[Fleet]:
    with fleet(3, RELEASES, health_timeout=20) as rig:
        # No release recorded anywhere: each host started `latest` by itself.
        assert [h.serves() for h in rig.hosts] == ["latest"] * 3
        first = rig.deploy("--release", "v1")
        assert first.returncode == 0, first.stdout + first.stderr
        rig.balance()
        yield rig


def assert_no_failures(load: Load, *served: str) -> None:
    print(load.summary())
    assert load.total >= 50, load.summary()
    assert load.failures == [], load.summary()
    assert set(load.bodies) == set(served), load.summary()


def test_a_release_rolls_out_host_by_host_without_a_failed_request(rig):
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
    # Per-host progress, one at a time, and which host runs what at the end.
    lines = done.stdout.splitlines()
    progress = [line for line in lines if line.startswith("deploy: [")]
    assert [line.split(":")[1].split()[0] for line in progress] == [
        "[1/3]",
        "[1/3]",
        "[2/3]",
        "[2/3]",
        "[3/3]",
        "[3/3]",
    ]
    for host in rig.hosts:
        assert f"deploy:   {host.name} ({host.address}): {after} (previous {before})" in lines
    assert lines[-1].startswith(f"deploy: {after} serves on all 3 hosts")


def test_a_broken_release_stops_at_the_first_host_and_every_host_keeps_serving(rig):
    rig.ensure("v2", "v1")
    with rig.under_load() as load:
        load.wait_for(50)
        done = rig.deploy("--release", "v3")
        load.wait_for(load.total + 50)
    assert done.returncode == 1
    error = done.stderr.strip()
    assert "\n" not in error and "Traceback" not in error
    first = rig.hosts[0]
    assert error.startswith(
        f"deploy: error: {first.name} ({first.address}): v3 failed its health check"
    )
    assert error.endswith("v2 keeps serving; stopped there, 2 hosts not deployed")
    assert_no_failures(load, "v2")
    assert rig.releases() == [("v2", "v1")] * 3
    assert [h.serves() for h in rig.hosts] == ["v2"] * 3
    # The broken release's container is gone: only the serving one runs.
    running = first.host.ssh("sudo docker ps --format '{{.Image}}'").stdout.split()
    assert running == [f"{rig.image}:v2"]


def test_a_rollback_puts_every_host_back_without_a_failed_request(rig):
    rig.ensure("v2", "v1")
    with rig.under_load() as load:
        load.wait_for(50)
        done = rig.deploy("--rollback")
        load.wait_for(load.total + 50)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "deploy: rollback: every host goes back to v1" in done.stdout
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
        ["rollback", "now"],
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
    assert ps.stdout.split() == [f"{rig.image}:{before['release']}", "running"]
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
    current = rig.releases()[0][0]
    lone, bootstrap = rig.new_host(
        "matra-dev-api-0", release_source=f"http://{HUB_ADDRESS}:{BALANCER_PORT}/.matra/release"
    )
    try:
        assert f"matra-deploy: {current} serves on slot a" in bootstrap
        assert lone.serves() == current
        assert lone.status()["release"] == current

        with Load(lone.address, 80) as load:
            load.wait_for(50)
            done = rig.deploy("--release", "v4", hosts=[lone])
            # A new .env: the running release is redeployed with it, beside itself.
            changed = lone.host.ssh(lone.contract.env_script(), stdin=dotenv(FEATURE_FLAG="on"))
            load.wait_for(load.total + 50)
        assert done.returncode == 0, done.stdout + done.stderr
        assert changed.returncode == 0, changed.stderr
        assert "matra-deploy: v4 serves on slot a" in changed.stdout
        assert_no_failures(load, current, "v4")
        assert lone.status()["release"] == "v4"
        env = lone.host.ssh("sudo docker inspect --format '{{json .Config.Env}}' matra-a-app-1")
        assert "FEATURE_FLAG=on" in json.loads(env.stdout)
    finally:
        rig.remove(lone)
