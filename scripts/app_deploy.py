"""What the app repository's deploy jobs run (deploy-app.yml, operate-app.yml), in one
place: the environment's deploy material into an outputs file, the deploy command
(`python -m deploy`), a GitHub Deployment that records what runs where and whether it
went well, and the job's summary.

    # deploy a release (by digest), roll back, or deploy again what runs:
    python scripts/app_deploy.py deploy --release TAG@sha256:<64 hex> [--action promote]
    python scripts/app_deploy.py deploy --rollback
    python scripts/app_deploy.py deploy --redeploy
    # what the environment's hosts run, all of them one release (promote reads staging):
    python scripts/app_deploy.py status [--expect TAG | TAG@sha256:... | sha256:...]

The material comes from DEPLOY_* in the environment (scripts/deploy_material.py); the
deployment record from GITHUB_TOKEN (deployments: write), GITHUB_REPOSITORY,
GITHUB_API_URL, GITHUB_SERVER_URL, GITHUB_RUN_ID, GITHUB_REF_NAME and GITHUB_SHA, as a job
has them, and ENVIRONMENT (the GitHub environment's name). `status` and the deploy command read the
hosts with `python -m deploy --outputs FILE --status --json`, whose "release" is the
TAG@sha256:<digest> every host runs (null unless they all run the same one).

The deployment record never holds a deploy up: when GitHub's API fails, the deploy goes on
and the run shows a warning. Exit status: the deploy command's for `deploy` (0 done, 1
stopped at a host, 2 bad input), 0 or 1 for `status`; every problem of this script's own is
one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deploy_material import MaterialError, assemble
from job import GitHub, append, reason, write_private
from matra_data.docker import DIGEST, TAG

ROOT = Path(__file__).resolve().parent.parent
# Docker's grammar, matra_data/docker.py's (the tag grammar's one home).
RELEASE = re.compile(rf"^(?P<tag>{TAG.pattern})@(?P<digest>{DIGEST.pattern})$")
EXPECT = re.compile(rf"^(?:{TAG.pattern}|{DIGEST.pattern}|{TAG.pattern}@{DIGEST.pattern})$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")


class AppDeployError(Exception):
    """One line, for stderr."""


# -- what the hosts run ----------------------------------------------------------------


def running(status: Mapping[str, Any]) -> str:
    """The TAG@sha256:<digest> every host runs, from `python -m deploy --status --json`."""
    release = status.get("release")
    if isinstance(release, str) and RELEASE.match(release):
        return release
    hosts = status.get("hosts") or []
    if not hosts:
        raise AppDeployError(f"{status.get('stack', 'the stack')}: no host answered")
    seen = []
    for host in hosts:
        if host.get("error"):
            seen.append(f"{host.get('name')}: {host['error']}")
            continue
        found = host.get("release") or {}
        tag, digest = found.get("tag"), found.get("digest")
        seen.append(f"{host.get('name')} {tag or '(none)'}@{digest or '(no digest)'}")
    if all("@(no digest)" in s for s in seen):
        why = "no host recorded a digest (deploy a release by digest there first)"
    else:
        why = "the hosts do not all run one release"
    raise AppDeployError(f"{status.get('stack', 'the stack')}: {why}: {'; '.join(seen)}")


def matches(release: str, expected: str) -> bool:
    """Whether ``release`` (TAG@sha256:...) is what the operator typed: a tag, a digest or
    both."""
    tag, _, digest = release.partition("@")
    return expected in (release, tag, digest)


# -- the deployment record -------------------------------------------------------------


class Record(GitHub):
    """A GitHub Deployment of this run, in the repository the job runs for."""

    log_url = ""
    """The run's page, where the deployment links to."""

    @classmethod
    def from_job(cls, env: Mapping[str, str]) -> Record | None:
        if not env.get("GITHUB_TOKEN") or not env.get("GITHUB_REPOSITORY"):
            return None
        record = cls.from_env(env)
        server, run = env.get("GITHUB_SERVER_URL", ""), env.get("GITHUB_RUN_ID", "")
        if server and run:
            record.log_url = f"{server}/{record.repository}/actions/runs/{run}"
        return record

    def start(
        self,
        environment: str,
        ref: str,
        fallback_ref: str,
        description: str,
        payload: Mapping[str, Any],
    ) -> int:
        body = {
            "ref": ref,
            "environment": environment,
            "description": description[:140],
            "payload": dict(payload),
            "auto_merge": False,
            "required_contexts": [],
            "production_environment": environment == "production",
            "transient_environment": False,
            "task": "deploy",
        }
        try:
            created = self.call("POST", "/deployments", body)
        except urllib.error.HTTPError as error:
            if error.code != 422 or ref == fallback_ref:
                raise
            # GitHub refused the release's commit: not in this repository, or not a ref the
            # environment's branch policy lets deploy. The run's branch (main) it lets.
            created = self.call("POST", "/deployments", {**body, "ref": fallback_ref})
        deployment = int(created["id"])
        self.status(deployment, "in_progress", description)
        return deployment

    def status(self, deployment: int, state: str, description: str, url: str = "") -> None:
        body = {"state": state, "description": description[:140], "log_url": self.log_url}
        if url:
            body["environment_url"] = url
        self.call("POST", f"/deployments/{deployment}/statuses", body)


# -- running the deploy command --------------------------------------------------------


def deploy_command() -> list[str]:
    """`python -m deploy` of this checkout (MATRA_DEPLOY replaces it, for the tests)."""
    override = os.environ.get("MATRA_DEPLOY")
    return shlex.split(override) if override else [sys.executable, "-m", "deploy"]


def read_status(outputs: Path) -> dict[str, Any]:
    done = subprocess.run(
        [*deploy_command(), "--outputs", str(outputs), "--status", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    try:
        found = json.loads(done.stdout)
    except ValueError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise AppDeployError(f"the hosts' status could not be read: {last}") from None
    if not isinstance(found, dict):
        raise AppDeployError("the hosts' status is not a JSON object")
    return found


def warn(line: str) -> None:
    """A workflow warning (shown on the run's page), one line."""
    print(f"::warning title=app_deploy::{line}", flush=True)


def summary(line: str) -> None:
    print(f"app_deploy: {line}", flush=True)
    append("GITHUB_STEP_SUMMARY", f"- {line}\n")


def deploy(args: argparse.Namespace, outputs: Path, env: Mapping[str, str]) -> int:
    environment = env.get("ENVIRONMENT", "")
    stack = json.loads(outputs.read_text())["stack"]
    url = env.get("DEPLOY_URL", "")
    before = ""
    with contextlib.suppress(AppDeployError):  # a new fleet, or one mid-way: deploy says more
        before = running(read_status(outputs))
    if args.redeploy:
        if not before:
            running(read_status(outputs))  # raises, with what each host runs
        release, action = before, "redeploy"
    elif args.rollback:
        release, action = "", "rollback"
    else:
        release, action = args.release, args.action
    flags = ["--release", release] if release else ["--rollback"]
    what = f"{action} {release}" if release else "rollback to the release before"
    tag = release.partition("@")[0]
    fallback = env.get("GITHUB_REF_NAME") or env.get("GITHUB_SHA", "")
    record = Record.from_job(env) if environment else None
    deployment = None
    if record:
        payload = {"release": release, "action": action, "stack": stack, "before": before}
        try:
            deployment = record.start(
                environment, tag if COMMIT.match(tag) else fallback, fallback, what, payload
            )
        except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
            # A rollback in an incident must not wait for GitHub's API: deploy, unrecorded.
            warn(
                f"the deploy goes on unrecorded: GitHub's deployments API failed ({reason(error)})"
            )
    done = subprocess.run(
        [*deploy_command(), "--outputs", str(outputs), *flags], cwd=ROOT, check=False
    )
    after = ""
    try:
        after = running(read_status(outputs))
    except AppDeployError as error:
        after = f"(not one release: {error})"
    ok = done.returncode == 0
    outcome = "done" if ok else f"failed (exit {done.returncode})"
    line = f"{stack}: {what}: {outcome}; runs {after or '(unknown)'}"
    if before:
        line += f" (was {before})"
    summary(line)
    if record and deployment is not None:
        try:
            record.status(deployment, "success" if ok else "failure", line, url if ok else "")
        except (urllib.error.URLError, OSError, ValueError) as error:
            # The deploy is done either way: its exit status stands.
            warn(f"deployment {deployment}'s outcome was not recorded ({reason(error)})")
    return done.returncode


def status(args: argparse.Namespace, outputs: Path) -> int:
    release = running(read_status(outputs))
    if args.expect and not matches(release, args.expect):
        raise AppDeployError(f"the hosts run {release}, not {args.expect} (--expect)")
    summary(f"{json.loads(outputs.read_text())['stack']} runs {release}")
    append("GITHUB_OUTPUT", f"release={release}\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("deploy")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--release", help="TAG@sha256:<64 hex>")
    which.add_argument("--rollback", action="store_true")
    which.add_argument("--redeploy", action="store_true", help="deploy again what every host runs")
    run.add_argument("--action", default="deploy", choices=("deploy", "promote"))
    read = commands.add_parser("status")
    read.add_argument(
        "--expect", default="", help="a tag, a digest or TAG@sha256:... the hosts must run"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "deploy" and args.release and not RELEASE.match(args.release):
            raise AppDeployError(f"--release {args.release!r} is not TAG@sha256:<64 hex digits>")
        if args.command == "status" and args.expect and not EXPECT.match(args.expect):
            raise AppDeployError(
                f"--expect {args.expect!r} is not a tag, sha256:<64 hex> or TAG@sha256:<64 hex>"
            )
        with tempfile.TemporaryDirectory(prefix="matra-app-deploy-") as work:
            outputs = Path(work) / "outputs.json"
            write_private(outputs, json.dumps(assemble(os.environ)))
            if args.command == "deploy":
                return deploy(args, outputs, os.environ)
            return status(args, outputs)
    except (AppDeployError, MaterialError) as error:
        print(f"app_deploy: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
