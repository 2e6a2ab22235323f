"""scripts/pr_comment.py (the preview job's comment): one comment per stack, created once
and edited on every later push, saying whether the preview passed, with the policy report
on top and the whole preview (the plan and the diff) folded below. Against a stand-in
for GitHub's API on loopback."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from pr_comment import MARKER, MAX_OUTPUT, body, fenced, main, policy_report

PREVIEW = """\
Previewing update (prod):
     Type                              Name              Plan
 +   pulumi:pulumi:Stack               matra-infra-prod  create
 +   ├─ digitalocean:index/firewall:Firewall  api-firewall  create

Policies:
    \u274c matra-infra@v0.0.0 (local: policies)
        - [mandatory]  digitalocean-firewall-no-public-ingress  (api-firewall)
          digitalocean.Firewall 'api-firewall': inbound rule opens tcp port 22 to \
0.0.0.0/0. Fix: admit SSH only from the admin CIDRs (matra-infra:adminSshSources).

Resources:
    + 40 to create
"""


def test_the_body_says_which_stack_failed_and_why():
    text = body("prod", 255, "\x1b[31m" + PREVIEW, commit="0123456789abcdef0123", run_url="u")
    lines = text.splitlines()
    assert lines[0] == MARKER.format(stack="prod")
    assert lines[1].startswith("### `pulumi preview` of **prod**: failed (exit code 255)")
    assert lines[2] == "commit 0123456789ab · [run](u)"
    report = text.index("**Policy pack**")
    assert text.index("[mandatory]  digitalocean-firewall-no-public-ingress") > report
    assert text.index("<details>") > text.index("Fix: admit SSH only")
    assert "\x1b[" not in text
    assert "+ 40 to create" in text


def test_a_passing_preview_says_so():
    text = body("dev", 0, "Previewing update (dev):\nResources:\n    + 3 to create\n")
    assert "of **dev**: passed" in text
    assert "(no policy report in the output)" in text


def test_the_policy_section_ends_at_the_next_heading():
    assert policy_report(PREVIEW).splitlines()[0] == "Policies:"
    assert policy_report(PREVIEW).splitlines()[-1].endswith("(matra-infra:adminSshSources).")
    assert policy_report("Policy Violations:\n    [advisory] x\nResources:\n") == (
        "Policy Violations:\n    [advisory] x"
    )


def test_a_long_preview_keeps_its_end_and_backticks_cannot_close_the_block():
    text = body("prod", 0, "x" * (MAX_OUTPUT * 2) + "\nthe end")
    assert "the start is cut" in text and text.count("x") < MAX_OUTPUT + 10
    assert "the end" in text
    assert fenced("a ```` b").startswith("`````\n")


class GitHubStandIn(BaseHTTPRequestHandler):
    comments: ClassVar[list[dict]] = []
    calls: ClassVar[list[tuple[str, str, dict | None]]] = []

    def _reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _payload(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def do_GET(self):
        assert self.headers["Authorization"] == "Bearer t0ken"
        self.calls.append(("GET", self.path, None))
        page = int(self.path.rsplit("page=", 1)[1])
        self._reply(200, self.comments[(page - 1) * 100 : page * 100])

    def do_POST(self):
        payload = self._payload()
        self.calls.append(("POST", self.path, payload))
        self._reply(201, {"id": 999, **payload})

    def do_PATCH(self):
        payload = self._payload()
        self.calls.append(("PATCH", self.path, payload))
        self._reply(200, payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def github(tmp_path):
    GitHubStandIn.comments = []
    GitHubStandIn.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), GitHubStandIn)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", GitHubStandIn
    server.shutdown()


def comment(tmp_path, api, monkeypatch, capsys, stack="prod", exit_code=255, err=False):
    """The script's main() as the preview job runs it: its exit code and what it printed
    (to stderr with ``err``)."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": "f" * 40}}}))
    output = tmp_path / "preview.txt"
    output.write_text(PREVIEW)
    for name, value in {
        "GITHUB_TOKEN": "t0ken",
        "GITHUB_REPOSITORY": "matra-io/matra-infra",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": api,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "42",
    }.items():
        monkeypatch.setenv(name, value)
    code = main(["--stack", stack, "--exit-code", str(exit_code), "--output", str(output)])
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


def test_outside_a_pull_request_workflow_it_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    output = tmp_path / "preview.txt"
    output.write_text(PREVIEW)
    assert main(["--stack", "prod", "--exit-code", "0", "--output", str(output)]) == 1
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
