"""python -m deploy without hosts: every kind of bad input is one line on stderr, exit 2,
before any host is reached (the real-host half is tests/test_deploy_real.py and
tests/test_deploy_failures.py); the release grammar (TAG or TAG@sha256:<digest>); how a
host's status is read; what a rollback goes back to; the hosts' gate; the deploy key
never written to disk."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from contracts import contract_with
from deploy.cli import main
from deploy.outputs import OutputsError, parse
from deploy.rollout import DeployError, Fleet, HostResult, HostStatus, Rollout, rollback_release
from deploy.ssh import Target, credentials
from matra.hostsetup import host_file
from matra_data.docker import Release, name_problem, release_problem, tag_problem

ROOT = Path(__file__).resolve().parent.parent
KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n-----END OPENSSH PRIVATE KEY-----\n"
)
GOOD = {
    "project": "matra-infra",
    "stack": "prod",
    "appImage": "registry.digitalocean.com/matra/api",
    "deployUser": "deploy",
    "deploySshPrivateKey": KEY,
    "sshKnownHosts": "matra-prod-api-0,203.0.113.10 ssh-ed25519 AAAAC3Nz\n",
    "deployTargets": [{"name": "matra-prod-api-0", "ip": "203.0.113.10"}],
    "healthCheck": {"path": "/healthz", "interval_seconds": 10, "unhealthy_threshold": 3},
}
DIGEST = "sha256:" + "0123456789abcdef" * 4


def run(args: list[str], stdin: str, capsys, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("tag", ["v1", "3f9c2ab", "2026-11-27.1", "release_12", "A" * 128])
def test_docker_tags_are_accepted(tag):
    assert tag_problem(tag) is None


@pytest.mark.parametrize(
    "tag",
    ["", "v1 v2", "v1;id", "$(reboot)", "`id`", "-v1", ".v1", "a" * 129, "v1\n", "tag/x", "é"],
)
def test_anything_else_is_not_a_tag(tag):
    assert tag_problem(tag) is not None


@pytest.mark.parametrize("release", ["v1", f"v1@{DIGEST}", f"3f9c2ab@{DIGEST}"])
def test_a_release_is_a_tag_or_a_tag_at_its_digest(release):
    assert release_problem(release) is None
    assert str(Release.parse(release)) == release


@pytest.mark.parametrize(
    "release",
    [
        "v1@",
        f"@{DIGEST}",
        "v1@sha256:abc",
        f"v1@{DIGEST.upper()}",
        f"v1@sha512:{'0' * 64}",
        f"v1@{DIGEST}@{DIGEST}",
        f"v1;id@{DIGEST}",
        f"v1@{DIGEST};id",
    ],
)
def test_anything_else_is_not_a_release(release):
    assert release_problem(release) is not None


@pytest.mark.parametrize(
    "name",
    [
        "registry.digitalocean.com/matra/api",
        "10.251.0.1:5000/matra/api",
        "localhost:5000/a/b-c__d.e",
        "api",
    ],
)
def test_repository_names_are_accepted(name):
    assert name_problem(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "registry.digitalocean.com/matra/API",
        "registry.digitalocean.com/matra/api:v1",
        "registry.digitalocean.com/matra/api;id",
        "registry.digitalocean.com/matra/$(id)",
        "registry.digitalocean.com//api",
        "registry.digitalocean.com/matra/api ",
        "a/" * 130 + "b",
    ],
)
def test_anything_else_is_not_a_repository_name(name):
    assert name_problem(name) is not None


R = ["--outputs", "-", "--release", "v1"]


def given(**values: object) -> str:
    return json.dumps({**GOOD, **values})


def without(key: str) -> str:
    return json.dumps({k: v for k, v in GOOD.items() if k != key})


@pytest.mark.parametrize(
    "args, stdin, error",
    [
        (["--release", "v1"], "", "the following arguments are required: --outputs"),
        (["--outputs", "-"], "", "one of the arguments --release --rollback --status is required"),
        ([*R, "--rollback"], "", "argument --rollback: not allowed with argument --release"),
        ([*R, "--status"], "", "argument --status: not allowed with argument --release"),
        ([*R, "--json"], "", "--json: only with --status"),
        ([*R, "--batch-size", "0"], "", "--batch-size: '0' is not a whole number from 1 to"),
        ([*R, "--batch-size", "two"], "", "--batch-size: 'two' is not a whole number from 1"),
        ([*R, "--watch", "-1"], "", "--watch: '-1' is not a whole number from 0 to 3600"),
        ([*R, "--canary-watch", "1h"], "", "--canary-watch: '1h' is not a whole number"),
        (["--outputs", "-", "--release", "v1@sha256:12"], "{}", "--release 'v1@sha256:12': a"),
        (["--outputs", "-", "--release", "v1;reboot"], "{}", "--release 'v1;reboot': a release"),
        (["--outputs", "-", "--release", "$(id)"], "{}", "--release '$(id)': a release tag"),
        (["--outputs", "-", "--release", "`id`"], "{}", "--release '`id`': a release tag"),
        (["--outputs", "-", "--release", "v 1"], "{}", "--release 'v 1': a release tag"),
        (["--outputs", "/none.json", "--release", "v1"], "", "--outputs /none.json: no such file"),
        (["--outputs", "/", "--release", "v1"], "", "--outputs /: a directory, not a file"),
        (R, "", "--outputs standard input: empty"),
        (R, "{oops", "--outputs standard input: not JSON (Expecting property name"),
        (R, "[1, 2]", "a JSON list, not the object"),
        (R, given(project="other"), "outputs: project is 'other', not 'matra-infra'"),
        (R, json.dumps({"stack": "prod"}), "outputs: no project output"),
        (R, without("deployTargets"), "outputs: no deployTargets: nothing to deploy to"),
        (R, given(deployTargets=[]), "outputs: deployTargets is [], not a list"),
        (R, given(deployTargets=[{"name": "a", "ip": "10.0.0.1; id"}]), "deployTargets[0] is"),
        (R, given(deployTargets=[{"name": "a", "ip": "10.0.0.1"}] * 2), "names 'a' twice"),
        (R, given(appImage="r.example/a;id"), "appImage 'r.example/a;id' is not a Docker"),
        (R, given(deploySshPrivateKey="[secret]"), "deploySshPrivateKey is hidden ('[secret]')"),
        (R, given(deploySshPrivateKey="hunter2"), "deploySshPrivateKey is not an OpenSSH"),
        (R, without("deploySshPrivateKey"), "exports no deploySshPrivateKey (it was given its"),
        ([*R, "--ssh-key", "/none"], given(), "--ssh-key /none: can't be read (No such file"),
        (R, without("sshKnownHosts"), "outputs: no sshKnownHosts"),
        (R, given(deployUser=""), "outputs: deployUser is '', not a non-empty string"),
        (R, without("healthCheck"), "outputs: no healthCheck"),
        (R, given(healthCheck={"interval_seconds": 0}), "outputs: healthCheck is {'interval"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_any_host(args, stdin, error, capsys, monkeypatch):
    code, out, err = run(args, stdin, capsys, monkeypatch)
    assert code == 2
    assert out == ""
    assert err.startswith("deploy: error: ") and error in err, err
    assert err.count("\n") == 1
    # The deploy key never reaches a message.
    assert "b3BlbnNzaC1rZXktdjEA" not in err


def test_the_command_line_entry_point_is_the_same(tmp_path):
    """As the workflow runs it: `python -m deploy`, from the checkout."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "deploy",
            "--outputs",
            str(tmp_path / "none.json"),
            "--release",
            "v1",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": ""},
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"deploy: error: --outputs {tmp_path / 'none.json'}: no such file\n"


def test_good_outputs_are_read_whole():
    outputs = parse(GOOD)
    assert outputs.stack == "prod"
    assert outputs.image == "registry.digitalocean.com/matra/api"
    assert outputs.targets == (Target("matra-prod-api-0", "203.0.113.10"),)
    with pytest.raises(OutputsError, match="stack is hidden"):
        parse({**GOOD, "stack": "[secret]"})


T0, T1, T2 = (Target(f"matra-prod-api-{i}", f"203.0.113.{10 + i}") for i in range(3))


def status(release: str | None, previous: str | None = None) -> HostStatus:
    return HostStatus(release=ref(release), previous=ref(previous), healthy=True, image="x")


def ref(tag: str | None) -> Release | None:
    """The tag at a digest of its own (the stand-in registry's)."""
    if tag is None:
        return None
    return Release(tag, "sha256:" + f"{tag:0>8}"[:8].encode().hex() * 4)


@pytest.mark.parametrize(
    "fleet, expected",
    [
        # Every host on v2 after v1.
        ({T0: status("v2", "v1"), T1: status("v2", "v1")}, "v1"),
        # A deploy of v3 stopped after the first host.
        ({T0: status("v3", "v2"), T1: status("v2", "v1"), T2: status("v2", "v1")}, "v2"),
        # A host created since v2 came records no previous release.
        ({T0: status("v2", "v1"), T1: status("v2", None)}, "v1"),
        # Back and forth: a rollback is itself rolled back.
        ({T0: status("v1", "v2"), T1: status("v1", "v2")}, "v2"),
    ],
)
def test_a_rollback_goes_back_to_the_release_before_the_fleets_current_one(fleet, expected):
    assert rollback_release(fleet) == ref(expected)


@pytest.mark.parametrize(
    "fleet, error",
    [
        ({T0: status(None), T1: status("v2", "v1")}, "runs no release yet"),
        ({T0: status("v2", None), T1: status("v2", None)}, "the hosts don't agree"),
        ({T0: status("v2", "v1"), T1: status("v2", "v0")}, "the hosts don't agree"),
        # A rollback that stopped part-way: forward or back is the operator's call.
        ({T0: status("v1", "v2"), T1: status("v2", "v1")}, "the hosts don't agree"),
        ({T0: status("v3", "v2"), T1: status("v5", "v4")}, "the hosts don't agree"),
    ],
)
def test_an_ambiguous_rollback_is_refused_with_what_each_host_runs(fleet, error):
    with pytest.raises(DeployError, match=error) as raised:
        rollback_release(fleet)
    assert "\n" not in str(raised.value)
    if "agree" in error:
        assert "deploy the release you want with --release TAG@sha256:" in str(raised.value)


def test_a_hosts_status_line_is_read_by_its_fields():
    v1, v2 = ref("v1"), ref("v2")
    line = (
        f"release=v2 digest={v2.digest} previous=v1 previous_digest={v1.digest} slot=b "
        "port=8081 healthy=yes env=stale consistent=yes busy=deploy:v3:since=T "
        "image=registry.example/a/b"
    )
    found = HostStatus.parse(T0, line)
    assert found == HostStatus(
        v2, v1, True, "registry.example/a/b", "b", "stale", True, "deploy:v3:since=T"
    )
    assert found.describe() == (
        f"{v2} (previous {v1.short}, its .env or compose file is newer: the next deploy "
        "applies it, busy: deploy:v3:since=T), healthy"
    )
    fresh = HostStatus.parse(
        T0,
        "release=none digest=none previous=none previous_digest=none slot=none port=none "
        "healthy=no env=unknown consistent=no busy=no image=x",
    )
    assert (fresh.release, fresh.previous, fresh.healthy) == (None, None, False)
    assert fresh.describe() == "no release"
    with pytest.raises(DeployError, match="unexpected status from matra-deploy"):
        HostStatus.parse(T0, "bash: matra-deploy: command not found")
    # A host still on the entry point from before: run pulumi up first.
    with pytest.raises(DeployError, match="runs an older deploy entry point"):
        HostStatus.parse(T0, "release=v2 previous=v1 slot=b port=8081 healthy=yes image=x")


GATE_REFS = ["v1", "3f9c2ab", "2026-11-27.1", "_x", "A" * 128, f"v1@{DIGEST}"]
GATE_REFS += ["A" * 129, "-v1", ".v1", "v1;id", "$(id)", "`id`", "v1|id", "v1\\"]
GATE_REFS += ["v1@sha256:12", f"v1@{DIGEST};id", f"v1@{DIGEST.upper()}"]


def gate(tmp_path: Path, command: str) -> subprocess.CompletedProcess[str]:
    """host/matra-deploy-gate.sh (the deploy key's ForceCommand), run as sshd runs it, its
    parameters from the program's deploy.env, with a stand-in sudo that shows what would
    reach matra-deploy."""
    contract = contract_with(image="r.example/a/b", server_name="api.example")
    (tmp_path / "deploy.env").write_text(contract.deploy_env())
    script = tmp_path / "gate"
    script.write_text(
        host_file("matra-deploy-gate.sh").replace(
            "/etc/matra/deploy.env", str(tmp_path / "deploy.env")
        )
    )
    sudo = tmp_path / "sudo"
    sudo.write_text('#!/bin/sh\necho "sudo $*"\n')
    sudo.chmod(0o755)
    return subprocess.run(
        ["bash", str(script)],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin", "SSH_ORIGINAL_COMMAND": command},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("release", GATE_REFS)
def test_the_hosts_gate_lets_through_exactly_the_releases_the_command_accepts(release, tmp_path):
    for command in (
        f"deploy {release}",
        f"deploy {release} 30 0123456789abcdef",
        f"check {release}",
    ):
        ran = gate(tmp_path, command)
        if release_problem(release) is None:
            assert (ran.returncode, ran.stdout) == (
                0,
                f"sudo -n /usr/local/sbin/matra-deploy {command}\n",
            )
        else:
            assert ran.returncode == 2 and ran.stdout == "", command
            assert ran.stderr.startswith("matra-deploy: refused:")


@pytest.mark.parametrize(
    "command, allowed",
    [
        ("status", True),
        ("rollback", True),
        ("result 0123456789abcdef", True),
        ("deploy v1 0 0123456789abcdef", True),
        ("deploy v1 99999 0123456789abcdef", True),
        ("deploy v1 100000 0123456789abcdef", False),
        ("deploy v1 30", False),
        ("deploy v1 30 0123456789ABCDEF", False),
        ("result ../../x", False),
        ("status now", False),
        ("redeploy", False),
        ("refresh", False),
        ("bootstrap", False),
        ("history", False),
        ("sh -c id", False),
        ("", False),
    ],
)
def test_the_hosts_gate_lets_through_only_the_deploy_keys_commands(command, allowed, tmp_path):
    ran = gate(tmp_path, command)
    if allowed:
        assert (ran.returncode, ran.stdout) == (
            0,
            f"sudo -n /usr/local/sbin/matra-deploy {command}\n",
        )
    else:
        assert ran.returncode == 2 and ran.stdout == "", command


def test_the_deploy_key_reaches_ssh_from_memory_and_never_a_file(tmp_path, monkeypatch):
    """The key and the known hosts are anonymous memory (memfd) that ssh reads through
    this process's /proc/<pid>/fd: nothing on disk, nothing left by a kill."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with credentials(KEY, "host-line\n") as (key_file, known_hosts):
        assert key_file.startswith(f"/proc/{os.getpid()}/fd/")
        assert Path(key_file).read_text() == KEY
        assert Path(known_hosts).read_text() == "host-line\n"
        assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
        assert os.readlink(key_file).startswith("/memfd:matra-deploy-key")
        assert list(tmp_path.iterdir()) == []
    assert not Path(key_file).exists()


def test_no_ssh_client_is_one_line_and_changes_nothing(tmp_path, capsys, monkeypatch):
    # An empty PATH: no OpenSSH client to run, so nothing is sent anywhere.
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, err = run(["--outputs", "-", "--release", "v1"], json.dumps(GOOD), capsys, monkeypatch)
    assert code == 2
    assert err.splitlines() == [
        "deploy: error: matra-prod-api-0 (203.0.113.10): can't run ssh (No such file or "
        "directory); no host was changed"
    ]


class ScriptedFleet(Fleet):
    """Hosts that answer as scripted: each deploy's outcome, an action while it runs."""

    def __init__(self, outcomes: dict[Target, str], during=None) -> None:
        super().__init__(None, list(outcomes), say=self.lines_append)  # type: ignore[arg-type]
        self.lines: list[str] = []
        self.outcomes, self.during, self.deployed = outcomes, during, []

    def lines_append(self, line: str) -> None:
        self.lines.append(line)

    def deploy(self, target, release, watch, run_id, *, on_line, sessions):
        self.deployed.append((target, watch))
        if self.during:
            self.during(target, sessions)
        outcome = self.outcomes[target]
        return HostResult(target, 1.0, outcome, f"{release} {outcome}")


def rollout(fleet: Fleet) -> Rollout:
    return Rollout(
        fleet, ref("v2"), batch_size=1, canary_watch=30, watch=10, run_id="0123456789abcdef"
    )


def test_the_first_host_is_watched_longest_and_a_failure_stops_the_rollout():
    fleet = ScriptedFleet({T0: "served", T1: "failed", T2: "served"})
    results = rollout(fleet).roll()
    assert [r.outcome for r in results] == ["served", "failed"]
    assert fleet.deployed == [(T0, 30), (T1, 10)]
    assert any("deploying" in line and "(the canary, watched 30 s)" in line for line in fleet.lines)


def test_ctrl_c_lets_the_host_in_flight_finish_and_a_second_one_ends_it():
    closed = []

    class Session:
        class stdin:  # noqa: N801 (stands in for a Popen's stdin)
            @staticmethod
            def close() -> None:
                closed.append(True)

    run = None

    def press(times: int):
        def during(target, sessions):
            sessions[target] = Session()
            for _ in range(times):
                run.interrupt(signal.SIGINT)
            sessions.pop(target)

        return during

    fleet = ScriptedFleet({T0: "served", T1: "served"}, during=press(1))
    run = rollout(fleet)
    assert [r.target for r in run.roll()] == [T0] and closed == []
    assert any("interrupted: matra-prod-api-0 finishes, then" in line for line in fleet.lines)
    fleet = ScriptedFleet({T0: "abandoned", T1: "served"}, during=press(2))
    run = rollout(fleet)
    assert [r.outcome for r in run.roll()] == ["abandoned"] and closed == [True]
    assert run.abandoning
