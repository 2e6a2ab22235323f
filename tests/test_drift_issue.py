"""drift.yml's two scripts: what a drift check found (scripts/preview_report.py
--drift-status, on real captures from the engine), and the stack's drift issue
(scripts/drift_issue.py) opened, updated and closed against a stand-in for GitHub's issues
API on loopback."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import ClassVar

import pytest

from drift_issue import LIMIT, MARKER, main
from json_api import JsonHandler, Serving
from preview_report import Report, drift_status, load
from workflow_files import broken, everything, named, run_script, step

DATA = Path(__file__).parent / "data"


def test_a_refresh_that_finds_changes_is_drift_and_a_broken_check_is_an_error():
    drifted = load("dev", 7, DATA / "preview-drift-events.jsonl", DATA / "preview-drift.err")
    assert drift_status(drifted) == "drift"
    # The same with an older CLI's exit code: the output says what happened.
    assert (
        drift_status(
            load("dev", 255, DATA / "preview-drift-events.jsonl", DATA / "preview-drift.err")
        )
        == "drift"
    )
    # A preview that failed for another reason (here the pack's mandatory violations).
    assert drift_status(load("dev", 255, DATA / "preview-dev-events.jsonl")) == "error"
    assert drift_status(Report("dev", 0)) == "clean"
    # A bad key or an unreadable state: an error, not drift, whatever the exit code.
    assert drift_status(Report("dev", 7, errors=["error: failed to decrypt"])) == "error"


class Issues(JsonHandler):
    issues: ClassVar[list[dict]] = []
    calls: ClassVar[list[tuple[str, str, dict | None]]] = []
    refuse_patch: ClassVar[int] = 0

    def do_GET(self):
        assert self.headers["Authorization"] == "Bearer t0ken"
        self.calls.append(("GET", self.path, None))
        assert "labels=drift" in self.path and "state=open" in self.path
        page = int(self.path.rsplit("page=", 1)[1])
        open_ = [i for i in self.issues if i["state"] == "open" and "drift" in i["labels"]]
        self.reply(200, open_[(page - 1) * 100 : page * 100])

    def do_POST(self):
        payload = self.payload()
        self.calls.append(("POST", self.path, payload))
        if self.path.endswith("/issues"):
            issue = {"number": 100 + len(self.issues), "state": "open", **payload}
            self.issues.append(issue)
            self.reply(201, issue)
        else:
            self.reply(201, {"id": 1})

    def do_PATCH(self):
        payload = self.payload()
        if self.refuse_patch:
            type(self).refuse_patch -= 1
            self.reply(502, {"message": "Server Error"})
            return
        self.calls.append(("PATCH", self.path, payload))
        number = int(self.path.rsplit("/", 1)[1])
        (issue,) = [i for i in self.issues if i["number"] == number]
        issue.update(payload)
        self.reply(200, issue)


@pytest.fixture
def github(monkeypatch):
    Issues.issues = [
        {
            "number": 1,
            "state": "open",
            "labels": ["drift"],
            "body": MARKER.format(stack="dev") + "\nold",
        },
        {"number": 2, "state": "open", "labels": ["drift"], "body": "not ours", "pull_request": {}},
    ]
    Issues.calls = []
    Issues.refuse_patch = 0
    with Serving(Issues) as served:
        monkeypatch.setenv("GITHUB_API_URL", served.url)
        monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
        monkeypatch.setenv("GITHUB_REPOSITORY", "matra-io/matra-infra")
        yield Issues


def run(tmp_path, stack, status, report="report of the check", run_url="https://run/1"):
    path = tmp_path / "report.md"
    path.write_text(report)
    return main(["--stack", stack, "--status", status, "--report", str(path), "--run-url", run_url])


def test_drift_opens_one_issue_per_stack_then_updates_it(tmp_path, github, capsys):
    assert run(tmp_path, "prod", "drift", "| `~` update | `api-0` |") == 0
    assert capsys.readouterr().out == "drift_issue: prod: opened issue #102\n"
    issue = github.issues[-1]
    assert issue["title"] == "Drift in prod" and issue["labels"] == ["drift"]
    assert issue["body"].startswith(MARKER.format(stack="prod"))
    assert "| `~` update | `api-0` |" in issue["body"] and "https://run/1" in issue["body"]
    assert "What to do" in issue["body"]
    # The next night it still drifts: the same issue, its body updated, no new one.
    assert run(tmp_path, "prod", "drift", "a newer report") == 0
    assert capsys.readouterr().out == "drift_issue: prod: updated issue #102\n"
    assert len(github.issues) == 3 and "a newer report" in github.issues[-1]["body"]


def test_a_clean_night_closes_the_stacks_issue_with_a_comment_and_leaves_the_others(
    tmp_path, github, capsys
):
    assert run(tmp_path, "dev", "clean") == 0
    assert capsys.readouterr().out == "drift_issue: dev: closed issue #1\n"
    assert github.issues[0]["state"] == "closed"
    (comment,) = [c for c in github.calls if c[1].endswith("/issues/1/comments")]
    assert "No drift in dev any more" in comment[2]["body"]
    assert github.issues[1]["state"] == "open"  # a pull request, not ours
    assert run(tmp_path, "prod", "clean") == 0
    assert capsys.readouterr().out == "drift_issue: prod: no drift, no open issue\n"


def test_a_failed_check_changes_no_issue(tmp_path, github, capsys):
    assert run(tmp_path, "dev", "error") == 0
    assert [c[0] for c in github.calls] == ["GET"]
    assert github.issues[0]["state"] == "open"


def test_a_huge_report_fits_in_an_issue(tmp_path, github):
    assert run(tmp_path, "prod", "drift", "x" * 100_000) == 0
    assert len(github.issues[-1]["body"]) < LIMIT


def test_outside_a_workflow_it_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    assert run(tmp_path, "dev", "drift") == 1
    assert capsys.readouterr().err == "drift_issue: GITHUB_TOKEN is missing from the environment\n"


# -- drift.yml's steps, run ------------------------------------------------------------------

DOCS = everything()


def _check(docs, tmp_path, events: str, stderr: str, code: int):
    """The check step, with a `pulumi` that prints a captured preview and exits ``code``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text(
        f'#!/bin/sh\ncat "{DATA / events}"\n'
        + (f'cat "{DATA / stderr}" >&2\n' if stderr else "")
        + f"exit {code}\n"
    )
    (bin_dir / "pulumi").chmod(0o755)
    drift = named(docs, "drift.yml")
    script = step(drift, "check", "check")["run"]
    temp = tmp_path / "temp"
    temp.mkdir()
    done = run_script(script.replace("$RUNNER_TEMP", str(temp)), {"STACK": "dev"}, path=[bin_dir])
    return done, temp / "drift"


def test_the_check_step_hands_the_issues_job_its_status_and_report(tmp_path):
    done, kept = _check(DOCS, tmp_path, "preview-drift-events.jsonl", "preview-drift.err", 7)
    assert done.returncode == 0, done.stdout
    assert done.outputs["status"] == "drift"
    assert (kept / "dev.status").read_text() == "drift\n"
    assert "droplet" in (kept / "dev.md").read_text()
    assert "drift check of **dev**: drift" in done.summary


def test_a_check_that_could_not_run_is_an_error_not_drift(tmp_path):
    done, kept = _check(DOCS, tmp_path, "preview-dev-events.jsonl", "", 255)
    assert done.outputs["status"] == "error" and (kept / "dev.status").read_text() == "error\n"


def test_the_status_check_fails_on_a_broken_copy(tmp_path):
    # Reading the CLI's exit code alone: a bad key (255) would count as drift.
    docs = broken(
        DOCS,
        "drift.yml",
        'status=$(python3 scripts/preview_report.py "${report[@]}" --drift-status)',
        "status=$([[ $code == 0 ]] && echo clean || echo drift)",
    )
    done, _ = _check(docs, tmp_path, "preview-dev-events.jsonl", "", 255)
    assert done.outputs["status"] == "drift"


def _issues(docs, tmp_path, statuses: dict[str, str]):
    drift = named(docs, "drift.yml")
    script = step(drift, "issues", "Open, update or close")["run"]
    kept = tmp_path / "drift"
    kept.mkdir()
    for stack, status in statuses.items():
        (kept / f"{stack}.status").write_text(status + "\n")
        (kept / f"{stack}.md").write_text(f"report of {stack}")
    env = {
        "STACKS": json.dumps(["dev", "prod", "staging"]),
        "RUN_URL": "https://run/9",
        **{k: os.environ[k] for k in ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_API_URL")},
    }
    return run_script(script.replace("$RUNNER_TEMP", str(tmp_path)), env)


def test_the_issues_job_files_each_stack_and_leaves_one_whose_check_left_no_report(
    tmp_path, github
):
    # staging's check died (its job fails the run): its issue, if any, stays as it was.
    done = _issues(DOCS, tmp_path, {"dev": "clean", "prod": "drift"})
    assert done.returncode == 0, done.stdout
    assert github.issues[0]["state"] == "closed"  # dev's, closed
    (opened,) = [i for i in github.issues if i.get("title") == "Drift in prod"]
    assert "report of prod" in opened["body"]
    assert not any(i.get("title") == "Drift in staging" for i in github.issues)
    assert "drift_issue: staging: the check failed: no issue changed" in done.stdout


def test_every_stack_is_filed_even_after_one_could_not_be(tmp_path, github, monkeypatch):
    github.issues.append(
        {"number": 9, "state": "open", "labels": ["drift"], "body": MARKER.format(stack="prod")}
    )
    github.refuse_patch = 1  # dev's issue can't be closed this time
    done = _issues(DOCS, tmp_path, {"dev": "clean", "prod": "clean", "staging": "clean"})
    assert done.returncode == 1, done.stdout
    assert "drift_issue: dev: GitHub answered 502" in done.stdout
    assert [i["state"] for i in github.issues if i["number"] == 9] == ["closed"]
