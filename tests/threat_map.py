"""The secret-to-job map: which job of which workflow can read which credential, and what
that credential can do, from three sources that must agree:

- the workflows (tests/workflow_files.py): each job's triggers and environments;
- the github/ program under mocks: each environment's branch policy, reviewers and
  secrets (and which setting each secret's value comes from), plus the deploy material
  update.yml writes to the app repository's environments;
- docs/threat-model.md: what each credential can do (its "Credentials" table) and each
  job's permissions (its "What each workflow job may do" table).

`rules(...)` returns one line per breach of the threat model's rules; the tests assert it
is empty for the shipped files and not for copies broken on purpose.

    make threat-map   # prints the map as a markdown table
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from harness import ROOT, Resource, plain
from matra_github.workflows import DEPLOY_MATERIAL, DEPLOYED_STACKS, DRILL_STACK, RESTORE_DRILL
from matra_policies.types import (
    GITHUB_ACTIONS_SECRET,
    GITHUB_ENVIRONMENT,
    GITHUB_ENVIRONMENT_SECRET,
)
from workflow_files import Job

THREAT_MODEL = ROOT / "docs" / "threat-model.md"
STACK_OF = {environment: stack for stack, environment in DEPLOYED_STACKS.items()}
"""A deploy environment's stack (staging: staging, production: prod)."""
PULL_REQUEST_EVENTS = {"pull_request", "pull_request_target", "issue_comment"}
"""Events a change that is not on the default branch can start a run with."""


# -- the threat model's tables ------------------------------------------------------------


def _table(text: str, header: str) -> list[list[str]]:
    """The rows of the markdown table whose header row starts with ``header``."""
    lines = text.splitlines()
    (start,) = [i for i, line in enumerate(lines) if line.startswith(header)]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


def _ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


@dataclass(frozen=True)
class Row:
    """One row of the Credentials table."""

    credential: str
    secrets: tuple[str, ...]
    settings: tuple[str, ...]
    """Setting patterns (<stack> in them); empty for a credential no setting holds."""
    held_in: tuple[tuple[str, str, str | None], ...]
    """(repository, environment pattern, the one stack it is for or None): <stack> and
    <deploy> in the patterns; "`plan-<stack>` (prod only)" is for prod alone."""
    can: str
    """Its capability, <stack> in it: "decrypt <stack>", "push images", ..."""

    def settings_for(self, stack: str | None) -> set[str]:
        return {s.replace("<stack>", stack or "") for s in self.settings}

    def can_for(self, stack: str | None) -> str:
        return self.can.replace("<stack>", stack or "?")


def credential_table(text: str | None = None) -> list[Row]:
    text = THREAT_MODEL.read_text() if text is None else text
    rows = []
    for cells in _table(text, "| credential | Actions secret |"):
        credential, secrets, settings, held_in, can = cells
        places: list[tuple[str, str]] = []
        repository = ""
        for part in held_in.split(","):
            part = part.strip()
            if ":" in part:
                repository, _, part = part.partition(":")
                repository = repository.strip()
            only = re.search(r"\((\w+) only\)", part)
            places += [(repository, name, only[1] if only else None) for name in _ticked(part)]
        rows.append(
            Row(
                credential=credential,
                secrets=tuple(_ticked(secrets)),
                settings=() if settings.startswith("none") else tuple(_ticked(settings)),
                held_in=tuple(places),
                can=_ticked(can)[0],
            )
        )
    return rows


def permissions_table(text: str | None = None) -> dict[tuple[str, str], dict[str, str]]:
    """(workflow file, job id) -> {"runs on", "environment", "permissions"} as written."""
    text = THREAT_MODEL.read_text() if text is None else text
    found = {}
    for workflow, job, runs_on, environment, permissions in _table(text, "| workflow | job |"):
        found[workflow, job.strip("`")] = {
            "runs on": runs_on,
            "environment": environment.replace("`", ""),
            "permissions": permissions,
        }
    return found


# -- the environments as github/ builds them ------------------------------------------------


@dataclass(frozen=True)
class Held:
    """One secret in one environment (or at repository level: environment "")."""

    repository: str
    environment: str
    secret: str
    setting: str | None
    """The github/ setting its value comes from; None for a generated key or a stack output."""
    stack: str | None


@dataclass
class Environment:
    repository: str
    name: str
    any_branch: bool
    """No branch policy: any branch's run (a pull request's) may use it."""
    reviewed: bool
    """A required reviewer who can't be the run's initiator, with no administrator bypass."""
    held: list[Held] = field(default_factory=list)


def stack_of(environment: str) -> str | None:
    for prefix in ("preview-", "plan-"):
        if environment.startswith(prefix):
            return environment[len(prefix) :]
    if environment == RESTORE_DRILL:
        return DRILL_STACK
    return STACK_OF.get(environment)


def environments(
    registrations: Sequence[Resource], secrets: dict[str, str], repositories: dict[str, str]
) -> tuple[dict[tuple[str, str], Environment], list[Held]]:
    """The environments (by (repository, name)) and the repository-level secrets the
    registrations make. ``secrets`` maps each setting's stand-in value back to the setting;
    ``repositories`` maps a repository's name to "infra" or "app"."""
    by_value = {value: key for key, value in secrets.items()}
    found: dict[tuple[str, str], Environment] = {}
    for r in registrations:
        if r.type == GITHUB_ENVIRONMENT:
            props = r.inputs
            reviewers = [
                who
                for block in props.get("reviewers") or []
                for who in [*block.get("users", []), *block.get("teams", [])]
            ]
            policy = props.get("deploymentBranchPolicy") or {}
            repository = repositories[props["repository"]]
            found[repository, props["environment"]] = Environment(
                repository=repository,
                name=props["environment"],
                any_branch=not (
                    policy.get("protectedBranches") or policy.get("customBranchPolicies")
                ),
                reviewed=bool(reviewers)
                and props.get("preventSelfReview") is True
                and props.get("canAdminsBypass") is False,
            )
    repository_level = []
    for r in registrations:
        if r.type not in (GITHUB_ENVIRONMENT_SECRET, GITHUB_ACTIONS_SECRET):
            continue
        repository = repositories[r.inputs["repository"]]
        name = r.inputs.get("environment", "")
        held = Held(
            repository=repository,
            environment=name,
            secret=r.inputs["secretName"],
            setting=by_value.get(plain(r.inputs["value"])),
            stack=stack_of(name),
        )
        if r.type == GITHUB_ACTIONS_SECRET:
            repository_level.append(held)
        elif (repository, name) in found:
            found[repository, name].held.append(held)
    # What update.yml writes to the app repository's deploy environments.
    for kind, name in DEPLOY_MATERIAL.values():
        if kind != "secret":
            continue
        for environment, stack in STACK_OF.items():
            if ("app", environment) in found:
                found["app", environment].held.append(Held("app", environment, name, None, stack))
    return found, repository_level


def capability(held: Held, rows: Sequence[Row]) -> str | None:
    """What the held secret can do, by the threat model's table; None if no row says."""
    for row in rows:
        if held.secret not in row.secrets:
            continue
        if row.settings and held.setting in row.settings_for(held.stack):
            return row.can_for(held.stack)
        if not row.settings and held.setting is None:
            return row.can_for(held.stack)
    return None


# -- the map and the rules ----------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    job: Job
    environment: str
    held: Held
    can: str | None


def secret_map(
    jobs: Iterable[Job],
    envs: dict[tuple[str, str], Environment],
    repository_level: Sequence[Held],
    rows: Sequence[Row],
) -> list[Reach]:
    """Every (job, credential) pair where the job can read the credential: everything in
    its environment(s) (a changed workflow can name any of it), and every
    repository-level secret of its repository."""
    found = []
    for job in jobs:
        for held in repository_level:
            if held.repository == job.repository:
                found.append(Reach(job, "", held, capability(held, rows)))
        for name in job.environments:
            environment = envs.get((job.repository, name))
            for held in environment.held if environment else []:
                found.append(Reach(job, name, held, capability(held, rows)))
    return found


def _dangerous(can: str | None, deployed: Iterable[str]) -> bool:
    """What a pull request's run must not reach without a reviewer."""
    if can is None:
        return True
    if can in ("write app environments", "push images"):
        return True
    verb, _, stack = can.partition(" ")
    return verb in ("write", "decrypt", "deploy") and stack in deployed


def rules(
    jobs: Sequence[Job],
    envs: dict[tuple[str, str], Environment],
    repository_level: Sequence[Held],
    rows: Sequence[Row],
    stacks: Sequence[str],
) -> list[str]:
    """One line per breach of the threat model's rules (docs/threat-model.md)."""
    deployed = [s for s in stacks if s in DEPLOYED_STACKS]
    problems = []
    reach = secret_map(jobs, envs, repository_level, rows)
    # 0. Every credential held anywhere is one the threat model describes.
    for environment in envs.values():
        for held in environment.held:
            if capability(held, rows) is None:
                problems.append(
                    f"{held.repository} {held.environment}: {held.secret} (from "
                    f"{held.setting or 'no setting'}) is no credential the threat model describes"
                )
    # 1. A pull request's run reaches nothing that writes or decrypts a deployed stack
    #    unless a reviewer other than its initiator approves it.
    for r in reach:
        if not (r.job.triggers & PULL_REQUEST_EVENTS):
            continue
        environment = envs.get((r.job.repository, r.environment))
        reviewed = environment is not None and environment.reviewed
        if _dangerous(r.can, deployed) and not reviewed:
            where = f"in {r.environment}" if r.environment else "at repository level"
            problems.append(
                f"{r.job}: a pull request's run can read {r.held.secret} ({r.can}) {where} "
                "without a reviewer's approval"
            )
    # 2. No secret at repository level.
    for held in repository_level:
        problems.append(f"{held.repository}: the secret {held.secret} is at repository level")
    # 3. What writes or decrypts a deployed stack sits only where the default branch alone,
    #    or a reviewer, lets a run in.
    for environment in envs.values():
        for held in environment.held:
            verb, _, what = (capability(held, rows) or "").partition(" ")
            guarded = not environment.any_branch or environment.reviewed
            if verb in ("write", "decrypt") and what in deployed and not guarded:
                problems.append(
                    f"{environment.repository} {environment.name}: {held.secret} ({verb} {what}) "
                    "in an environment any branch may run in, with no reviewer"
                )
    # 4. The app repository holds no passphrase and no state key.
    for environment in envs.values():
        if environment.repository != "app":
            continue
        for held in environment.held:
            verb, _, what = (capability(held, rows) or "").partition(" ")
            can = f"{verb} {what}"
            if verb == "decrypt" or (verb in ("read", "write") and what in stacks):
                problems.append(
                    f"app {environment.name}: {held.secret} ({can}): the app repository holds "
                    "no passphrase or state key"
                )
    # 5. No workflow holds the org stack's passphrase.
    for environment in envs.values():
        for held in environment.held:
            if capability(held, rows) == "decrypt org" or (held.setting or "").startswith("org"):
                problems.append(
                    f"{environment.repository} {environment.name}: {held.secret} holds the org "
                    "stack's passphrase"
                )
    # 6. Staging and prod share no credential but the deploy-material App's key.
    stacks_of: dict[str, set[str]] = {}
    for environment in envs.values():
        for held in environment.held:
            if held.setting and held.stack:
                stacks_of.setdefault(held.setting, set()).add(held.stack)
    for setting, holders in sorted(stacks_of.items()):
        if {"staging", "prod"} <= holders and setting != "deployMaterialAppPrivateKey":
            problems.append(f"{setting} is held by both staging's and prod's environments")
    return problems


def held_as_documented(
    envs: dict[tuple[str, str], Environment], rows: Sequence[Row], stacks: Sequence[str]
) -> list[str]:
    """Where the Credentials table says each credential is held, against where it is."""
    problems = []
    for row in rows:
        for stack in stacks if any("<stack>" in s for s in [*row.settings, row.can]) else [None]:
            deploy = DEPLOYED_STACKS.get(stack or "")
            said = {
                (
                    repository,
                    pattern.replace("<stack>", stack or "").replace("<deploy>", deploy or ""),
                )
                for repository, pattern, only in row.held_in
                if ("<deploy>" not in pattern or deploy) and only in (None, stack)
            }
            actual = {
                (environment.repository, environment.name)
                for environment in envs.values()
                for held in environment.held
                if held.secret in row.secrets
                and (held.stack == stack or stack is None)
                and capability(held, [row]) is not None
            }
            if said != actual:
                problems.append(
                    f"{row.credential} ({stack or 'any stack'}): the threat model says "
                    f"{sorted(said)}, github/ holds it in {sorted(actual)}"
                )
    return problems


def render(
    jobs: Sequence[Job], reach: Sequence[Reach], envs: dict[tuple[str, str], Environment]
) -> str:
    """The map as a markdown table: one row per job and environment (a job that can read
    no credential too)."""
    lines = [
        "| workflow | job | triggers | environment | approval "
        "| credentials it can read (what they can do) |",
        "|---|---|---|---|---|---|",
    ]
    grouped: dict[tuple[str, str, str], list[Reach]] = {}
    grouped_jobs: dict[tuple[str, str], Job] = {}
    for r in reach:
        grouped.setdefault((r.job.doc.name, r.job.job_id, r.environment), []).append(r)
    for job in jobs:
        if not any(r.job == job for r in reach):
            grouped[job.doc.name, job.job_id, ""] = []
            grouped_jobs[job.doc.name, job.job_id] = job
    for (workflow, job_id, environment), items in sorted(grouped.items()):
        if not items:
            job = grouped_jobs[workflow, job_id]
            where = f"{job.repository}: {', '.join(job.environments) or 'none'}"
            lines.append(
                f"| {workflow} | {job_id} | {', '.join(sorted(job.triggers))} | {where} "
                "| | nothing |"
            )
            continue
        job = items[0].job
        facts = envs.get((job.repository, environment))
        gate = (
            "reviewer"
            if facts and facts.reviewed
            else ("default branch" if facts and not facts.any_branch else "none")
        )
        credentials = ", ".join(sorted(f"{r.held.secret} ({r.can})" for r in items))
        where = (
            f"{job.repository}: {environment}" if environment else f"{job.repository}: repository"
        )
        lines.append(
            f"| {workflow} | {job_id} | {', '.join(sorted(job.triggers))} | {where} | {gate} "
            f"| {credentials} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:  # pragma: no cover (a report for people)
    from github_harness import SECRETS, run_github
    from matra_github.workflows import shipped_stacks
    from workflow_files import all_jobs, everything

    program = run_github()
    envs, repository_level = environments(
        program.registrations, SECRETS, {"matra-infra": "infra", "matra-app": "app"}
    )
    jobs = all_jobs(everything(), shipped_stacks())
    reach = secret_map(jobs, envs, repository_level, credential_table())
    print(render(jobs, reach, envs), end="")


if __name__ == "__main__":  # pragma: no cover
    main()
