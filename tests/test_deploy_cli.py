"""python -m deploy without hosts: every kind of bad input is one line on stderr, exit 2,
before any host is reached (the real-host half is tests/test_deploy_real.py); the
reference grammar; how a host's status is read; what a rollback goes back to."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.cli import main
from deploy.outputs import OutputsError, parse
from deploy.reference import name_problem, tag_problem
from deploy.rollout import DeployError, HostStatus, rollback_release
from deploy.ssh import Target

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
}


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
        (["--outputs", "-"], "", "one of the arguments --release --rollback is required"),
        ([*R, "--rollback"], "", "argument --rollback: not allowed with argument --release"),
        ([*R, "--batch-size", "0"], "", "--batch-size: '0' is not a whole number of hosts"),
        ([*R, "--batch-size", "two"], "", "--batch-size: 'two' is not a whole number of hosts"),
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
    return HostStatus(release=release, previous=previous, healthy=True, image="x")


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
    assert rollback_release(fleet) == expected


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
        assert "deploy the release you want with --release TAG" in str(raised.value)


def test_a_hosts_status_line_is_read_by_its_fields():
    line = "release=v2 previous=v1 slot=b port=8081 healthy=yes image=registry.example/a/b"
    assert HostStatus.parse(T0, line) == HostStatus("v2", "v1", True, "registry.example/a/b")
    fresh = HostStatus.parse(
        T0, "release=none previous=none slot=none port=none healthy=no image=x"
    )
    assert fresh == HostStatus(None, None, False, "x")
    assert fresh.describe() == "no release"
    with pytest.raises(DeployError, match="unexpected status from matra-deploy"):
        HostStatus.parse(T0, "bash: matra-deploy: command not found")


GATE_TAGS = ["v1", "3f9c2ab", "2026-11-27.1", "_x", "A" * 128]
GATE_TAGS += ["A" * 129, "-v1", ".v1", "v1;id", "$(id)", "`id`", "v1|id", "v1\\"]


@pytest.mark.parametrize("tag", GATE_TAGS)
def test_the_hosts_gate_lets_through_exactly_the_tags_the_command_accepts(tag, tmp_path):
    """matra-deploy-gate (the deploy key's ForceCommand), run as sshd runs it, with a
    stand-in sudo that shows what would reach matra-deploy."""
    from components.hostsetup import HostContract

    gate = tmp_path / "gate"
    gate.write_text(HostContract.gate_script())
    sudo = tmp_path / "sudo"
    sudo.write_text('#!/bin/sh\necho "sudo $*"\n')
    sudo.chmod(0o755)
    ran = subprocess.run(
        ["bash", str(gate)],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin", "SSH_ORIGINAL_COMMAND": f"deploy {tag}"},
        capture_output=True,
        text=True,
        check=False,
    )
    if tag_problem(tag) is None:
        assert (ran.returncode, ran.stdout) == (
            0,
            f"sudo -n /usr/local/sbin/matra-deploy deploy {tag}\n",
        )
    else:
        assert ran.returncode == 2 and ran.stdout == ""
        assert ran.stderr.startswith("matra-deploy: refused:")


def test_no_ssh_client_is_one_line_and_changes_nothing(tmp_path, capsys, monkeypatch):
    # An empty PATH: no OpenSSH client to run, so nothing is sent anywhere.
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, err = run(["--outputs", "-", "--release", "v1"], json.dumps(GOOD), capsys, monkeypatch)
    assert code == 2
    assert err.splitlines() == [
        "deploy: error: matra-prod-api-0 (203.0.113.10): can't run ssh (No such file or "
        "directory); no host was changed"
    ]
