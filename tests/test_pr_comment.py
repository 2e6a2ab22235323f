"""scripts/pr_comment.py (the preview job's comment): one comment per stack, created once
and edited on every later push, built from the preview's events (scripts/preview_report.py:
the verdict, the policy report, what changes), every value of the job's secrets masked.
Against a stand-in for GitHub's API on loopback; the events are a real capture
(tests/data)."""

import json
import socket
from pathlib import Path
from typing import ClassVar

import pytest

from json_api import JsonHandler, Serving
from pr_comment import MARKER, body, main
from preview_report import GITHUB_LIMIT, Masker, load

EVENTS = Path(__file__).parent / "data" / "preview-dev-events.jsonl"


def test_the_body_says_which_stack_failed_and_why():
    text = body(load("dev", 255, EVENTS), Masker([]), commit="0123456789abcdef0123", run_url="u")
    lines = text.splitlines()
    assert lines[0] == MARKER.format(stack="dev")
    assert lines[1] == "commit 0123456789ab · [run](u)"
    assert lines[2].startswith("### `pulumi preview` of **dev**: failed (exit code 255)")
    assert "| mandatory | `command-remote-host-key-pinned` |" in text
    assert len(text) < GITHUB_LIMIT


class GitHubStandIn(JsonHandler):
    comments: ClassVar[list[dict]] = []
    calls: ClassVar[list[tuple[str, str, dict | None]]] = []

    def do_GET(self):
        assert self.headers["Authorization"] == "Bearer t0ken"
        self.calls.append(("GET", self.path, None))
        page = int(self.path.rsplit("page=", 1)[1])
        self.reply(200, self.comments[(page - 1) * 100 : page * 100])

    def do_POST(self):
        payload = self.payload()
        self.calls.append(("POST", self.path, payload))
        self.reply(201, {"id": 999, **payload})

    def do_PATCH(self):
        payload = self.payload()
        self.calls.append(("PATCH", self.path, payload))
        self.reply(200, payload)


@pytest.fixture
def github(tmp_path):
    GitHubStandIn.comments = []
    GitHubStandIn.calls = []
    with Serving(GitHubStandIn) as served:
        yield served.url, GitHubStandIn


def comment(tmp_path, api, monkeypatch, capsys, stack="prod", exit_code=255, err=False):
    """The script's main() as the preview job runs it: its exit code and what it printed
    (to stderr with ``err``)."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": "f" * 40}}}))
    for name, value in {
        # A "secret" the capture's policy report shows: the comment must mask it.
        "PULUMI_CONFIG_PASSPHRASE": "has backups off",
        "GITHUB_TOKEN": "t0ken",
        "GITHUB_REPOSITORY": "matra-io/matra-infra",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": api,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "42",
    }.items():
        monkeypatch.setenv(name, value)
    code = main(
        [
            "--stack",
            stack,
            "--exit-code",
            str(exit_code),
            "--events",
            str(EVENTS),
            "--mask-env",
            "PULUMI_CONFIG_PASSPHRASE",
        ]
    )
    printed = capsys.readouterr()
    return code, printed.err if err else printed.out


def test_the_first_preview_of_a_stack_creates_its_comment(tmp_path, github, monkeypatch, capsys):
    api, stand_in = github
    stand_in.comments = [{"id": 1, "body": MARKER.format(stack="dev") + "\n..."}]
    code, printed = comment(tmp_path, api, monkeypatch, capsys)
    assert code == 0
    assert printed == "pr_comment: prod: created comment 999 on pull request #7\n"
    method, path, payload = stand_in.calls[-1]
    assert (method, path) == ("POST", "/repos/matra-io/matra-infra/issues/7/comments")
    assert payload["body"].startswith(MARKER.format(stack="prod"))
    assert "https://github.com/matra-io/matra-infra/actions/runs/42" in payload["body"]
    assert "commit ffffffffffff" in payload["body"]


def test_a_later_push_edits_the_stacks_comment_even_past_the_first_page(
    tmp_path, github, monkeypatch, capsys
):
    api, stand_in = github
    stand_in.comments = [{"id": i, "body": f"chatter {i}"} for i in range(100)]
    stand_in.comments.append({"id": 1234, "body": MARKER.format(stack="prod") + "\nold"})
    code, _ = comment(tmp_path, api, monkeypatch, capsys, exit_code=0)
    assert code == 0
    assert [c[0] for c in stand_in.calls] == ["GET", "GET", "PATCH"]
    _, path, payload = stand_in.calls[-1]
    assert path == "/repos/matra-io/matra-infra/issues/comments/1234"
    assert "of **prod**: passed" in payload["body"]


def test_a_secret_of_the_job_never_reaches_the_comment(tmp_path, github, monkeypatch, capsys):
    api, stand_in = github
    code, _ = comment(tmp_path, api, monkeypatch, capsys)
    assert code == 0
    text = stand_in.calls[-1][2]["body"]
    # The capture's advisory violations hold the stand-in secret's value: masked.
    unmasked = body(load("prod", 255, EVENTS), Masker([]))
    assert "has backups off" in unmasked
    assert "has backups off" not in text and "***" in text


def test_outside_a_pull_request_workflow_it_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    assert main(["--stack", "prod", "--exit-code", "0", "--events", str(EVENTS)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "pr_comment: GITHUB_EVENT_PATH is missing (from the environment or the event: it runs "
        "in a pull request's workflow)"
    ]


def test_an_api_that_cannot_be_reached_is_one_line_without_the_token(tmp_path, monkeypatch, capsys):
    with socket.socket() as closed:  # a port nothing listens on once this is closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    code, printed = comment(tmp_path, f"http://127.0.0.1:{port}", monkeypatch, capsys, err=True)
    assert code == 1
    (line,) = printed.splitlines()
    assert line.startswith("pr_comment: prod: <urlopen error [Errno 111] Connection refused>")
    assert "t0ken" not in line
