"""A stuck update is reported as one: scripts/lock_report.py on what `pulumi up` wrote to
stderr, and update.yml's apply steps run as the runner runs them with a stand-in `pulumi`
that fails the way the real one does on a lock (tests/data/locked-up.err is in the CLI's
words; tests/test_plan_engine.py kills a real update and reads the real failure)."""

from __future__ import annotations

from pathlib import Path

import pytest

import lock_report
from harness import ROOT
from workflow_files import Doc, broken, everything, named, run_script, step

LOCKED = (ROOT / "tests" / "data" / "locked-up.err").read_text()
DOCS = everything()
APPLY = "Apply that plan"


def test_a_lock_names_its_holder_and_how_to_clear_it(tmp_path, capsys, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    err = tmp_path / "up.err"
    err.write_text(LOCKED)
    assert lock_report.main(["--stack", "prod", "--stderr", str(err)]) == 0
    error, lock_file = capsys.readouterr().out.splitlines()
    assert error == (
        "::error title=prod is locked::prod is locked by 1 earlier update: "
        "runner@fv-az123-456 (pid 4242) since 2026-12-03T02:11:00Z. If none still runs "
        "(the Actions tab, the concurrency group pulumi-up-prod), that update was killed: "
        "clear its lock with `pulumi cancel --stack prod --yes` and run this workflow again "
        "(docs/operations.md#a-stuck-update)"
    )
    assert lock_file.startswith("lock file: file:///home/runner/work/_temp/state/.pulumi/locks/")
    assert "pulumi cancel --stack prod --yes" in summary.read_text()


def test_several_locks_are_all_named(tmp_path, capsys):
    holder = LOCKED.splitlines()[1]
    text = LOCKED.replace("by 1 lock(s)", "by 2 lock(s)") + holder.replace("4242", "4343") + "\n"
    err = tmp_path / "up.err"
    err.write_text(text)
    assert lock_report.main(["--stack", "prod", "--stderr", str(err)]) == 0
    out = capsys.readouterr().out
    assert "locked by 2 earlier updates: " in out and "(pid 4242)" in out and "(pid 4343)" in out


@pytest.mark.parametrize(
    "text",
    [
        "",
        "error: update failed\n",
        "error: [409] Conflict: Another update is currently in progress.\n",
    ],
    ids=["nothing", "another-failure", "pulumi-cloud-conflict"],
)
def test_anything_else_is_not_called_a_lock(tmp_path, capsys, text):
    err = tmp_path / "up.err"
    err.write_text(text)
    assert lock_report.main(["--stack", "prod", "--stderr", str(err)]) == 1
    assert capsys.readouterr().out == ""


def test_a_missing_stderr_file_is_not_a_lock(tmp_path, capsys):
    assert lock_report.main(["--stack", "prod", "--stderr", str(tmp_path / "none")]) == 1
    assert capsys.readouterr().out == ""


# -- update.yml's apply steps, run ------------------------------------------------------------


def _apply(docs: list[Doc], job: str, tmp_path: Path, stderr: str, code: int):
    """The job's apply step, run with a `pulumi` that writes ``stderr`` and exits ``code``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (tmp_path / "stderr").write_text(stderr)
    fake = bin_dir / "pulumi"
    fake.write_text(
        f'#!/bin/sh\necho "Updating (prod)"\ncat "{tmp_path / "stderr"}" >&2\nexit {code}\n'
    )
    fake.chmod(0o755)
    step_ = step(named(docs, "update.yml"), job, APPLY)
    env = {key: str(value) for key, value in step_["env"].items() if "${{" not in str(value)}
    return run_script(step_["run"], env, path=[bin_dir])


@pytest.mark.parametrize("job", ["staging", "prod"])
def test_an_update_stopped_by_a_lock_says_so_and_keeps_its_exit_status(tmp_path, job):
    done = _apply(DOCS, job, tmp_path, LOCKED, 255)
    assert done.returncode == 255
    stack = "staging" if job == "staging" else "prod"
    assert f"::error title={stack} is locked::{stack} is locked by 1 earlier update" in done.stdout
    assert "the stack is currently locked by 1 lock(s)" in done.stdout  # the CLI's own words stay
    assert f"`pulumi cancel --stack {stack} --yes`" in done.summary


@pytest.mark.parametrize(("stderr", "code"), [("error: update failed\n", 1), ("", 0)])
def test_an_update_that_failed_otherwise_or_passed_is_left_as_it_was(tmp_path, stderr, code):
    done = _apply(DOCS, "staging", tmp_path, stderr, code)
    assert done.returncode == code
    assert "::error" not in done.stdout and done.summary == ""
    assert stderr in done.stdout


def test_the_lock_check_fails_on_a_broken_copy(tmp_path):
    docs = broken(
        DOCS,
        "update.yml",
        "          if [[ $code != 0 ]]; then\n",
        "          if false; then\n",
        after='--plan "$RUNNER_TEMP/plan.json"',  # staging's apply step
    )
    done = _apply(docs, "staging", tmp_path, LOCKED, 255)
    assert done.returncode == 255 and "is locked::" not in done.stdout
