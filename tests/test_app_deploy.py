"""scripts/app_deploy.py, what the app repository's deploy and operate jobs run: the
environment's deploy material into an outputs file, the deploy command, a GitHub
Deployment with the release and its outcome. The deploy command is a stand-in here (the
real one is deploy/'s, tested on real hosts there) that answers `--status --json` in the
shape the deploy command prints and records each call; GitHub's deployments API is a
stand-in on loopback."""

from __future__ import annotations

import tempfile

import pytest

from app_deploy import main
from app_fleet import COMMIT_A, COMMIT_B, DIGEST_A, A, B, Fleet, GitHubDeployments


@pytest.fixture
def fleet(tmp_path, monkeypatch):
    """The stand-in deploy command and GitHub; two prod hosts on release A, B before it."""
    hosts = Fleet(tmp_path / "prod", "prod", runs=A, previous=B, url="https://api.matra.io")
    summary = tmp_path / "summary.md"
    with GitHubDeployments() as github:
        for name, value in {
            **hosts.env(),
            **github.env(),
            "ENVIRONMENT": "production",
            "GITHUB_STEP_SUMMARY": str(summary),
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
        monkeypatch.delenv("FAKE_EXIT", raising=False)
        hosts.summary = lambda: summary.read_text() if summary.exists() else ""  # type: ignore[attr-defined]
        yield hosts, github


def test_a_release_is_deployed_by_digest_and_recorded_with_its_outcome(fleet):
    hosts, github = fleet
    assert main(["deploy", "--release", B, "--action", "promote"]) == 0
    assert hosts.deploys() == [["--release", B]]
    assert set(hosts.hosts().values()) == {B}
    (create, running, done) = github.calls
    assert create[1] == "/repos/matra-io/matra-app/deployments"
    assert create[2]["ref"] == COMMIT_B  # the release's own commit
    assert create[2]["environment"] == "production" and create[2]["production_environment"] is True
    assert create[2]["required_contexts"] == [] and create[2]["auto_merge"] is False
    assert create[2]["payload"] == {"release": B, "action": "promote", "stack": "prod", "before": A}
    assert running[1] == "/repos/matra-io/matra-app/deployments/4711/statuses"
    assert running[2]["state"] == "in_progress"
    assert done[2]["state"] == "success" and done[2]["environment_url"] == "https://api.matra.io"
    assert done[2]["log_url"] == "https://github.com/matra-io/matra-app/actions/runs/77"
    assert f"prod: promote {B}: done; runs {B} (was {A})" in hosts.summary()


def test_a_failed_deploy_is_recorded_as_failed_and_its_exit_status_stands(fleet, monkeypatch):
    hosts, github = fleet
    monkeypatch.setenv("FAKE_EXIT", "1")
    assert main(["deploy", "--release", B]) == 1
    assert (
        github.calls[-1][2]["state"] == "failure" and "environment_url" not in github.calls[-1][2]
    )
    assert set(hosts.hosts().values()) == {A}
    assert "failed (exit 1)" in hosts.summary()


def test_redeploy_deploys_again_what_every_host_runs(fleet):
    hosts, github = fleet
    assert main(["deploy", "--redeploy"]) == 0
    assert hosts.deploys() == [["--release", A]]
    assert github.calls[0][2]["payload"]["action"] == "redeploy"


def test_redeploy_refuses_hosts_that_run_different_releases_and_changes_nothing(fleet, capsys):
    hosts, github = fleet
    hosts.set_hosts({"matra-prod-api-0": A, "matra-prod-api-1": B})
    assert main(["deploy", "--redeploy"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(
        "app_deploy: prod: the hosts do not all run one release: matra-prod-api-0 "
    )
    assert hosts.deploys() == [] and github.calls == []


def test_rollback_goes_back_and_is_recorded_at_the_runs_branch(fleet):
    hosts, github = fleet
    assert main(["deploy", "--rollback"]) == 0
    assert hosts.deploys() == [["--rollback"]]
    assert set(hosts.hosts().values()) == {B}
    assert github.calls[0][2]["ref"] == "main"
    assert f"rollback to the release before: done; runs {B} (was {A})" in hosts.summary()


def test_a_release_whose_commit_github_refuses_is_recorded_at_the_runs_branch(fleet):
    _, github = fleet
    github.refuse(COMMIT_B)
    assert main(["deploy", "--release", B]) == 0
    assert [c[2]["ref"] for c in github.calls if c[1].endswith("/deployments")] == [
        COMMIT_B,
        "main",
    ]


@pytest.mark.parametrize("expect", ["", COMMIT_A, DIGEST_A, A])
def test_status_names_the_release_and_checks_what_the_operator_expects(
    fleet, tmp_path, monkeypatch, expect
):
    hosts, _ = fleet
    out = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    assert main(["status", "--expect", expect]) == 0
    assert out.read_text() == f"release={A}\n"
    assert hosts.deploys() == []


def test_status_refuses_another_release_than_the_operator_expects(fleet, capsys):
    assert main(["status", "--expect", COMMIT_B]) == 1
    assert capsys.readouterr().err == f"app_deploy: the hosts run {A}, not {COMMIT_B} (--expect)\n"


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["deploy", "--release", COMMIT_A],
            f"app_deploy: --release '{COMMIT_A}' is not TAG@sha256:<64 hex digits>",
        ),
        (
            ["status", "--expect", "x y"],
            "app_deploy: --expect 'x y' is not a tag, sha256:<64 hex> or TAG@sha256:<64 hex>",
        ),
    ],
)
def test_bad_input_is_one_line_before_anything_runs(fleet, capsys, argv, line):
    hosts, github = fleet
    assert main(argv) == 1
    assert capsys.readouterr().err == line + "\n"
    assert hosts.calls() == [] and github.calls == []


def test_an_environment_without_its_material_is_one_line(fleet, monkeypatch, capsys):
    hosts, _ = fleet
    monkeypatch.setenv("DEPLOY_SSH_KEY", "")
    monkeypatch.setenv("DEPLOY_TARGETS", "")
    assert main(["deploy", "--release", B]) == 1
    assert capsys.readouterr().err.startswith(
        "app_deploy: DEPLOY_TARGETS is empty: this environment"
    )
    assert hosts.calls() == []


def test_the_outputs_file_is_private_while_it_lives_and_gone_afterwards(
    fleet, tmp_path, monkeypatch
):
    hosts, _ = fleet
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    assert main(["deploy", "--release", B]) == 0
    assert {c["mode"] for c in hosts.calls()} == {"0o600"}
    assert {c["stack"] for c in hosts.calls()} == {"prod"}
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize("github_down", ["bad-token", "unreachable"])
def test_a_failing_deployments_api_never_holds_a_deploy_up(fleet, monkeypatch, capsys, github_down):
    hosts, github = fleet
    if github_down == "bad-token":
        monkeypatch.setenv("GITHUB_TOKEN", "revoked")
    else:
        monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")  # discard: nothing listens
    assert main(["deploy", "--rollback"]) == 0
    assert hosts.runs() == {B}
    warnings = [
        line for line in capsys.readouterr().out.splitlines() if line.startswith("::warning")
    ]
    assert len(warnings) == 1 and "the deploy goes on unrecorded" in warnings[0], warnings
    assert github.calls == []
