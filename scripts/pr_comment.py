"""The pull request comment of one stack's preview (pull-request.yml): created on the
first run, edited in place on every later push, one per stack. Built from the preview's
structured output (scripts/preview_report.py): whether it passed, the policy report
(every violation, mandatory or advisory), the errors, what changes; every value of the
job's secrets masked; under GitHub's 65,536 characters.

    python3 scripts/pr_comment.py --stack dev --exit-code 0 --events preview.jsonl \
        [--stderr preview.err] [--mask-env PULUMI_CONFIG_PASSPHRASE ...]

Reads GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_EVENT_PATH (the pull_request event),
GITHUB_API_URL, GITHUB_SERVER_URL and GITHUB_RUN_ID, as a workflow step has them.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from pathlib import Path
from typing import Any

from preview_report import GITHUB_LIMIT, Masker, Report, load, markdown

MARKER = "<!-- matra-infra preview: {stack} -->"
"""The comment's first line: how a later run finds the stack's comment to edit."""


def body(report: Report, mask: Masker, commit: str = "", run_url: str = "") -> str:
    """The comment: the marker, where it comes from, then the report."""
    about = [f"commit {commit[:12]}" if commit else "", f"[run]({run_url})" if run_url else ""]
    header = [MARKER.format(stack=report.stack)]
    if any(about):
        header.append(" · ".join(part for part in about if part))
    text = markdown(report, mask, title=f"`pulumi preview` of **{report.stack}**", header=header)
    assert len(text) < GITHUB_LIMIT
    return text


class GitHub:
    """The few REST calls the comment needs."""

    def __init__(self, api_url: str, token: str, repository: str) -> None:
        self.api = api_url.rstrip("/")
        self.token = token
        self.repository = repository

    def call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.api}/repos/{self.repository}{path}",
            method=method,
            data=json.dumps(payload).encode() if payload is not None else None,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def upsert(self, number: int, marker: str, text: str) -> str:
        """Edit the pull request's comment that starts with ``marker``, or create it."""
        page = 1
        while True:
            comments = self.call("GET", f"/issues/{number}/comments?per_page=100&page={page}")
            for comment in comments:
                if (comment.get("body") or "").startswith(marker):
                    self.call("PATCH", f"/issues/comments/{comment['id']}", {"body": text})
                    return f"edited comment {comment['id']}"
            if len(comments) < 100:
                break
            page += 1
        created = self.call("POST", f"/issues/{number}/comments", {"body": text})
        return f"created comment {created['id']}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--exit-code", required=True, type=int)
    parser.add_argument("--events", required=True, type=Path)
    parser.add_argument("--stderr", type=Path)
    parser.add_argument("--mask-env", nargs="*", default=[], metavar="NAME")
    args = parser.parse_args(argv)
    try:
        return _comment(args)
    except KeyError as missing:  # outside GitHub Actions: no event, repository or token
        print(
            f"pr_comment: {missing.args[0]} is missing (from the environment or the event: "
            "it runs in a pull request's workflow)",
            file=sys.stderr,
        )
    except (OSError, ValueError) as error:  # the event file, or the API (urllib's errors)
        print(f"pr_comment: {args.stack}: {error}", file=sys.stderr)
    return 1


def _comment(args: argparse.Namespace) -> int:
    env = os.environ
    event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text())
    pull_request = event["pull_request"]
    server, run_id = env.get("GITHUB_SERVER_URL", ""), env.get("GITHUB_RUN_ID", "")
    repository = env["GITHUB_REPOSITORY"]
    text = body(
        load(args.stack, args.exit_code, args.events, args.stderr),
        Masker.from_env(args.mask_env),
        commit=pull_request.get("head", {}).get("sha", ""),
        run_url=f"{server}/{repository}/actions/runs/{run_id}" if server and run_id else "",
    )
    github = GitHub(
        env.get("GITHUB_API_URL", "https://api.github.com"), env["GITHUB_TOKEN"], repository
    )
    done = github.upsert(int(pull_request["number"]), MARKER.format(stack=args.stack), text)
    print(f"pr_comment: {args.stack}: {done} on pull request #{pull_request['number']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
