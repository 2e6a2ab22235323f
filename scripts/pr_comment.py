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
from pathlib import Path

from job import GitHub
from preview_report import GITHUB_LIMIT, Masker, Report, load, markdown, preview_arguments

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


def upsert(github: GitHub, number: int, marker: str, text: str) -> str:
    """Edit the pull request's comment that starts with ``marker``, or create it."""
    for comment in github.each(f"/issues/{number}/comments"):
        if (comment.get("body") or "").startswith(marker):
            github.call("PATCH", f"/issues/comments/{comment['id']}", {"body": text})
            return f"edited comment {comment['id']}"
    created = github.call("POST", f"/issues/{number}/comments", {"body": text})
    return f"created comment {created['id']}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    preview_arguments(parser)
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
    github = GitHub.from_env(env, repository)
    done = upsert(github, int(pull_request["number"]), MARKER.format(stack=args.stack), text)
    print(f"pr_comment: {args.stack}: {done} on pull request #{pull_request['number']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
