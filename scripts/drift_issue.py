"""The drift issue of one stack (drift.yml): opened when the nightly check finds the stack
changed outside Pulumi, updated in place while it stays so, closed with a comment by the
first clean check. One issue per stack, found by the marker its body starts with.

    python3 scripts/drift_issue.py --stack prod --status drift --report report.md \\
        [--run-url URL]

--status is clean, drift or error (an error changes no issue: the job fails instead).
The report is scripts/preview_report.py's markdown of the check, already masked. Reads
GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_API_URL as a workflow step has them.
Standard library only.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
from pathlib import Path
from typing import Any

from job import GitHub, reason

MARKER = "<!-- matra-infra drift: {stack} -->"
LABEL = "drift"
LIMIT = 65_536
"""GitHub's limit on an issue's body, in characters."""
WHAT_TO_DO = """\
**What to do** ([docs/operations.md](../blob/main/docs/operations.md#drift)):

- the change was wanted (someone resized a droplet on purpose, say): adopt it in code
  (the stack's `Pulumi.<stack>.yaml` or the program) through a pull request; its update
  then plans no change for it, and this issue closes after the next clean night;
- it was not: re-run the latest `update` run of `main` (Actions, update, Re-run all jobs):
  its plan, made with `--refresh`, puts the stack back as the code says (prod after a
  reviewer approved that plan);
- an update waiting for approval, or one that failed, shows here as what an update would
  change: approve it, or fix it.
"""


def open_issue(github: GitHub, marker: str) -> dict[str, Any] | None:
    """The open drift issue whose body starts with ``marker``."""
    for issue in github.each(f"/issues?state=open&labels={LABEL}"):
        if "pull_request" not in issue and (issue.get("body") or "").startswith(marker):
            return dict(issue)
    return None


def body(stack: str, report: str, run_url: str) -> str:
    found = (
        f"Found by [the nightly check]({run_url})." if run_url else "Found by the nightly check."
    )
    text = "\n".join(
        [
            MARKER.format(stack=stack),
            f"**{stack}** is not what `main` and its state say it is. {found} The report "
            "separates what changed outside Pulumi (found by the refresh) from what an update "
            "would change (a merged change not applied yet shows up there too).",
            "",
            WHAT_TO_DO,
            report.strip(),
            "",
        ]
    )
    if len(text) >= LIMIT:
        text = text[: LIMIT - 200] + "\n\n(cut here to fit; the run's log has the rest)\n"
    return text


def record(github: GitHub, stack: str, status: str, report: str, run_url: str) -> str:
    """Open, update or close the stack's issue; what was done, in a few words."""
    marker = MARKER.format(stack=stack)
    issue = open_issue(github, marker)
    if status == "drift":
        text = body(stack, report, run_url)
        if issue:
            github.call("PATCH", f"/issues/{issue['number']}", {"body": text})
            return f"updated issue #{issue['number']}"
        created = github.call(
            "POST", "/issues", {"title": f"Drift in {stack}", "body": text, "labels": [LABEL]}
        )
        return f"opened issue #{created['number']}"
    if status == "clean":
        if not issue:
            return "no drift, no open issue"
        where = f" ([run]({run_url}))" if run_url else ""
        github.call(
            "POST",
            f"/issues/{issue['number']}/comments",
            {"body": f"No drift in {stack} any more{where}: closing."},
        )
        github.call(
            "PATCH", f"/issues/{issue['number']}", {"state": "closed", "state_reason": "completed"}
        )
        return f"closed issue #{issue['number']}"
    return "the check failed: no issue changed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--status", required=True, choices=("clean", "drift", "error"))
    parser.add_argument("--report", required=True, type=Path)
    parser.add_argument("--run-url", default="")
    args = parser.parse_args(argv)
    env = os.environ
    try:
        report = args.report.read_text() if args.report.exists() else "(no report)"
        github = GitHub.from_env(env)
        done = record(github, args.stack, args.status, report, args.run_url)
    except KeyError as missing:
        print(f"drift_issue: {missing.args[0]} is missing from the environment", file=sys.stderr)
        return 1
    except urllib.error.HTTPError as error:
        print(f"drift_issue: {args.stack}: GitHub answered {reason(error)}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(f"drift_issue: {args.stack}: {error}", file=sys.stderr)
        return 1
    print(f"drift_issue: {args.stack}: {done}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
