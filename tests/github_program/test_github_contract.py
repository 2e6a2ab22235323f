"""One source of truth between the workflows and the github/ program: the required checks
are jobs the pull-request workflow reports on every pull request; every secret and
variable a job names is in its environment (or, for a variable, its repository), managed
by github/ or written by update.yml; every environment a job names is managed; and each
environment's secrets are all read by some job there. Renaming a job, reading a secret
nobody manages (or managing one nobody reads) fails here; each check is shown to fail on
a broken copy."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest
import yaml

from github_harness import run_github
from harness import ROOT
from matra_github.workflows import DEPLOY_MATERIAL, shipped_stacks
from matra_policies.types import (
    GITHUB_ACTIONS_VARIABLE,
    GITHUB_ENVIRONMENT,
    GITHUB_ENVIRONMENT_SECRET,
    GITHUB_ENVIRONMENT_VARIABLE,
    GITHUB_RULESET,
)
from workflow_files import (
    REPOSITORIES,
    Doc,
    all_jobs,
    broken,
    check_names,
    everything,
    named,
    run_stacks_step,
)

DOCS = everything()
STACKS = shipped_stacks()
MATERIAL = {
    kind: {name for kind_, name in DEPLOY_MATERIAL.values() if kind_ == kind}
    for kind in ("secret", "variable")
}
"""What update.yml writes to the app repository's deploy environments."""


@functools.cache
def managed() -> dict:
    """What the org stack manages: required checks per repository; per (repository,
    environment) its secrets and variables; per repository its variables."""
    program = run_github()
    assert program.error is None, program.error
    found: dict = {"checks": {}, "environments": {}, "variables": {}}
    for r in program.of_type(GITHUB_RULESET):
        checks = r.inputs["rules"]["requiredStatusChecks"]["requiredChecks"]
        found["checks"][REPOSITORIES[r.inputs["repository"]]] = {c["context"] for c in checks}
    for r in program.of_type(GITHUB_ENVIRONMENT):
        key = (REPOSITORIES[r.inputs["repository"]], r.inputs["environment"])
        found["environments"][key] = {"secrets": set(), "variables": set()}
    for type_, kind, name in [
        (GITHUB_ENVIRONMENT_SECRET, "secrets", "secretName"),
        (GITHUB_ENVIRONMENT_VARIABLE, "variables", "variableName"),
    ]:
        for r in program.of_type(type_):
            key = (REPOSITORIES[r.inputs["repository"]], r.inputs["environment"])
            found["environments"][key][kind].add(r.inputs[name])
    for (repository, name), held in found["environments"].items():
        if repository == "app" and name in ("staging", "production"):
            held["secrets"] |= MATERIAL["secret"]
            held["variables"] |= MATERIAL["variable"]
    for r in program.of_type(GITHUB_ACTIONS_VARIABLE):
        found["variables"].setdefault(REPOSITORIES[r.inputs["repository"]], set()).add(
            r.inputs["variableName"]
        )
    return found


def always_reported(doc: Doc) -> set[str]:
    """The checks a workflow reports on every run: jobs that run whatever happened before
    (no `if:`, or `if: always()`); a matrix job's legs count only if they all do."""
    reported = check_names(doc, {"stack": run_stacks_step(doc, ROOT)})
    skippable = {
        name
        for job_id, job in doc.jobs().items()
        if job.get("if") and str(job["if"]).strip() != "always()"
        for name in check_names(
            Doc(doc.path, yaml.safe_dump({"jobs": {job_id: job}})), {"stack": list(STACKS)}
        )
    }
    return reported - skippable


def check_required_checks(docs: list[Doc], required: set[str]) -> None:
    pr = named(docs, "pull-request.yml")
    missing = required - always_reported(pr)
    assert not missing, (
        f"main requires {sorted(missing)}, which the pull-request workflow does not report on "
        "every pull request"
    )


def check_environments(docs: list[Doc], expected: dict) -> None:
    for job in all_jobs(docs, STACKS):
        repository_variables = expected["variables"].get(job.repository, set())
        if not job.environments:
            assert not job.secrets, f"{job}: names {sorted(job.secrets)} outside any environment"
            assert job.variables <= repository_variables, (
                f"{job}: reads the variables {sorted(job.variables - repository_variables)}, which "
                f"{job.repository} does not hold"
            )
        for name in job.environments:
            held = expected["environments"].get((job.repository, name))
            assert held is not None, f"{job}: runs in {name}, which github/ does not manage"
            assert job.secrets <= held["secrets"], (
                f"{job}: reads the secrets {sorted(job.secrets - held['secrets'])}, which "
                f"{job.repository} {name} does not hold"
            )
            unknown = job.variables - held["variables"] - repository_variables
            assert not unknown, (
                f"{job}: reads the variables {sorted(unknown)}, which {job.repository} {name} "
                "does not hold"
            )
    for (repository, name), held in expected["environments"].items():
        read = set().union(
            *(
                j.secrets
                for j in all_jobs(docs, STACKS)
                if j.repository == repository and name in j.environments
            )
        )
        assert held["secrets"] <= read, (
            f"{repository} {name} holds {sorted(held['secrets'] - read)}, which no job there reads"
        )


def check_secrets_are_inherited(docs: list[Doc]) -> None:
    """A called workflow's job reads its environment's secrets only when the caller passes
    `secrets: inherit` (actions/runner#4453); the app repository has no repository-level
    secret to pass besides."""
    for doc in docs:
        for job_id, job in doc.jobs().items():
            if "uses" in job and "/.github/workflows/" in job["uses"]:
                assert job.get("secrets") == "inherit", f"{doc.path} {job_id}: secrets: inherit"


def test_main_requires_checks_that_every_pull_request_reports():
    check_required_checks(DOCS, managed()["checks"]["infra"])


def test_every_secret_and_variable_a_job_reads_is_in_its_environment():
    check_environments(DOCS, managed())


def test_the_app_repositorys_jobs_get_their_environments_secrets():
    check_secrets_are_inherited(DOCS)


def test_actionlint_knows_exactly_the_variables_the_workflows_may_read():
    config = yaml.safe_load((ROOT / ".github" / "actionlint.yaml").read_text())
    everywhere = set().union(
        *managed()["variables"].values(),
        *(held["variables"] for held in managed()["environments"].values()),
    )
    assert set(config["config-variables"]) == everywhere


def _without_secret(repository: str, environment: str, secret: str) -> dict:
    copy = {
        **managed(),
        "environments": {
            k: {kk: set(vv) for kk, vv in v.items()} for k, v in managed()["environments"].items()
        },
    }
    copy["environments"][repository, environment]["secrets"].discard(secret)
    return copy


def _with_secret(repository: str, environment: str, secret: str) -> dict:
    copy = _without_secret(repository, environment, "-")
    copy["environments"][repository, environment]["secrets"].add(secret)
    return copy


BREAKS: list[tuple[str, Callable[[], None], str]] = [
    (
        "a-required-job-renamed",
        lambda: check_required_checks(
            broken(DOCS, "pull-request.yml", "    name: previews\n", "    name: all previews\n"),
            managed()["checks"]["infra"],
        ),
        "main requires ['previews']",
    ),
    (
        "a-required-job-that-can-be-skipped",
        lambda: check_required_checks(
            broken(
                DOCS,
                "pull-request.yml",
                "    if: always()\n",
                "    if: success()\n",
                after="    name: previews\n",
            ),
            managed()["checks"]["infra"],
        ),
        "main requires ['previews'], which the pull-request workflow does not report on every",
    ),
    (
        "a-secret-nobody-manages",
        lambda: check_environments(
            broken(
                DOCS,
                "update.yml",
                "${{ secrets.DIGITALOCEAN_TOKEN }}",
                "${{ secrets.DO_TOKEN }}",
                after="name: update (prod)",
            ),
            managed(),
        ),
        "update.yml prod: reads the secrets ['DO_TOKEN'], which infra production does not hold",
    ),
    (
        "a-secret-outside-any-environment",
        lambda: check_environments(
            broken(
                DOCS,
                "pull-request.yml",
                "RESTORED: ${{ steps.cache.outputs.cache-hit }}",
                "RESTORED: ${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
            ),
            managed(),
        ),
        "pull-request.yml test: names ['PULUMI_CONFIG_PASSPHRASE'] outside any environment",
    ),
    (
        "a-secret-nobody-reads",
        lambda: check_environments(DOCS, _with_secret("infra", "plan-prod", "GITHUB_ADMIN_TOKEN")),
        "infra plan-prod holds ['GITHUB_ADMIN_TOKEN'], which no job there reads",
    ),
    (
        "a-read-secret-not-held",
        lambda: check_environments(DOCS, _without_secret("app", "registry", "DOCR_TOKEN")),
        "deploy-app.yml build: reads the secrets ['DOCR_TOKEN'], which app registry does not hold",
    ),
    (
        "an-environment-nobody-manages",
        lambda: check_environments(
            broken(DOCS, "update.yml", "      name: production\n", "      name: prod\n"), managed()
        ),
        "update.yml prod: runs in prod, which github/ does not manage",
    ),
    (
        "a-variable-nobody-holds",
        lambda: check_environments(
            broken(
                DOCS,
                "update.yml",
                "${{ vars.APP_REPOSITORY }}",
                "${{ vars.APP_REPO }}",
                after="name: update (prod)",
            ),
            managed(),
        ),
        "update.yml prod: reads the variables ['APP_REPO']",
    ),
    (
        "secrets-passed-one-by-one",
        lambda: check_secrets_are_inherited(
            broken(
                DOCS,
                "app-deploy.yml",
                "    secrets: inherit\n",
                "    secrets:\n      DOCR_TOKEN: ${{ secrets.DOCR_TOKEN }}\n",
            )
        ),
        "secrets: inherit",
    ),
]


@pytest.mark.parametrize(("check", "words"), [pytest.param(*b[1:], id=b[0]) for b in BREAKS])
def test_each_check_fails_when_the_two_disagree(check, words):
    with pytest.raises(AssertionError) as failure:
        check()
    assert words in str(failure.value).splitlines()[0]
