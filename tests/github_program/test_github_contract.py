"""One source of truth between the workflows and the github/ program: the required
status checks are exactly the pull-request workflow's jobs (as GitHub names their
checks), and each repository's managed Actions secrets, variables and environments are
exactly those its workflows read. Renaming a job, or reading a secret nobody manages
(or managing one nobody reads), fails here; the checks are shown to fail on broken
copies."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest
import yaml

from github_harness import run_github
from harness import ROOT
from matra_policies.types import (
    GITHUB_ACTIONS_SECRET,
    GITHUB_ACTIONS_VARIABLE,
    GITHUB_BRANCH_PROTECTION,
    GITHUB_ENVIRONMENT,
)
from workflow_files import (
    Doc,
    broken,
    check_names,
    environment,
    everything,
    named,
    run_stacks_step,
    secrets_read,
    variables_read,
)

DOCS = everything()
INFRA, APP = "matra-infra", "matra-app"


@functools.cache
def managed() -> dict[str, dict[str, set[str]]]:
    """What the org stack manages, per repository: required checks, secrets, variables,
    environments."""
    program = run_github()
    assert program.error is None, program.error
    found: dict[str, dict[str, set[str]]] = {
        repo: {"checks": set(), "secrets": set(), "variables": set(), "environments": set()}
        for repo in (INFRA, APP)
    }
    for r in program.of_type(GITHUB_BRANCH_PROTECTION):
        found[r.inputs["repositoryId"]]["checks"] |= set(
            r.inputs["requiredStatusChecks"][0]["contexts"]
        )
    for type_, kind, key in [
        (GITHUB_ACTIONS_SECRET, "secrets", "secretName"),
        (GITHUB_ACTIONS_VARIABLE, "variables", "variableName"),
        (GITHUB_ENVIRONMENT, "environments", "environment"),
    ]:
        for r in program.of_type(type_):
            found[r.inputs["repository"]][kind].add(r.inputs[key])
    return found


def by_repository(docs: list[Doc]) -> dict[str, list[Doc]]:
    """Which repository's secrets, variables and environments each file reads: the app
    repository's for its caller and the reusable workflow it calls, this repository's
    for the rest."""
    app = [d for d in docs if d.name == "app-deploy.yml" or d.is_reusable]
    return {INFRA: [d for d in docs if d not in app], APP: app}


def check_required_checks(docs: list[Doc], required: set[str]) -> None:
    pr = named(docs, "pull-request.yml")
    reported = check_names(pr, {"stack": run_stacks_step(pr, ROOT)})
    assert reported == required, (
        f"the pull-request workflow reports {sorted(reported)}; main requires {sorted(required)}"
    )


def check_secrets_and_variables(docs: list[Doc], expected: dict[str, dict[str, set[str]]]) -> None:
    for repository, files in by_repository(docs).items():
        read = set().union(*(secrets_read(d) for d in files)) - {"GITHUB_TOKEN"}
        assert read == expected[repository]["secrets"], (
            f"{repository}: the workflows read the secrets {sorted(read)}; github/ manages "
            f"{sorted(expected[repository]['secrets'])}"
        )
        variables = set().union(*(variables_read(d) for d in files))
        assert variables == expected[repository]["variables"], (
            f"{repository}: the workflows read the variables {sorted(variables)}; github/ "
            f"manages {sorted(expected[repository]['variables'])}"
        )
        environments = {
            environment(job) for d in files for job in d.jobs().values() if "environment" in job
        }
        assert environments == expected[repository]["environments"], (
            f"{repository}: the workflows deploy in {sorted(environments)}; github/ manages "
            f"{sorted(expected[repository]['environments'])}"
        )
    (reusable,) = [d for d in docs if d.is_reusable]
    declared = set(reusable.data["on"]["workflow_call"]["secrets"])
    caller = named(docs, "app-deploy.yml")
    (call,) = caller.jobs().values()
    assert declared == secrets_read(reusable) == set(call["secrets"]), (
        f"deploy-app.yml declares {sorted(declared)}, reads {sorted(secrets_read(reusable))}; "
        f"the caller passes {sorted(call['secrets'])}"
    )


def test_the_required_checks_are_exactly_the_pull_request_jobs():
    check_required_checks(DOCS, managed()[INFRA]["checks"])


def test_the_secrets_variables_and_environments_are_exactly_those_the_workflows_read():
    check_secrets_and_variables(DOCS, managed())


def test_actionlint_knows_exactly_the_managed_variables():
    config = yaml.safe_load((ROOT / ".github" / "actionlint.yaml").read_text())
    assert (
        set(config["config-variables"])
        == managed()[INFRA]["variables"] | managed()[APP]["variables"]
    )


def _without(repository: str, kind: str, name: str) -> dict[str, dict[str, set[str]]]:
    copy = {repo: {k: set(v) for k, v in kinds.items()} for repo, kinds in managed().items()}
    copy[repository][kind].discard(name)
    return copy


BREAKS: list[tuple[str, Callable[[], None], str]] = [
    (
        "a-required-job-renamed",
        lambda: check_required_checks(
            broken(DOCS, "pull-request.yml", "    name: test\n", "    name: tests\n"),
            managed()[INFRA]["checks"],
        ),
        "the pull-request workflow reports",
    ),
    (
        "the-preview-renamed",
        lambda: check_required_checks(
            broken(
                DOCS,
                "pull-request.yml",
                "name: preview (${{ matrix.stack }})",
                "name: pulumi preview ${{ matrix.stack }}",
            ),
            managed()[INFRA]["checks"],
        ),
        "main requires",
    ),
    (
        "a-secret-nobody-manages",
        lambda: check_secrets_and_variables(
            broken(
                DOCS,
                "update.yml",
                "${{ secrets.DIGITALOCEAN_TOKEN }}",
                "${{ secrets.DO_TOKEN }}",
                after="name: update (prod)",
            ),
            managed(),
        ),
        "matra-infra: the workflows read the secrets",
    ),
    (
        "a-secret-nobody-reads",
        lambda: check_secrets_and_variables(
            DOCS,
            {**managed(), APP: {**managed()[APP], "secrets": managed()[APP]["secrets"] | {"X"}}},
        ),
        "matra-app: the workflows read the secrets",
    ),
    (
        "an-unmanaged-secret-passed",
        lambda: check_secrets_and_variables(DOCS, _without(APP, "secrets", "DOCR_TOKEN")),
        "matra-app: the workflows read the secrets",
    ),
    (
        "a-variable-nobody-manages",
        lambda: check_secrets_and_variables(DOCS, _without(INFRA, "variables", "SSH_RUNNER")),
        "matra-infra: the workflows read the variables",
    ),
    (
        "an-environment-nobody-manages",
        lambda: check_secrets_and_variables(
            broken(DOCS, "update.yml", "    environment: production\n", "    environment: prod\n"),
            managed(),
        ),
        "matra-infra: the workflows deploy in",
    ),
]


@pytest.mark.parametrize(("check", "words"), [pytest.param(*b[1:], id=b[0]) for b in BREAKS])
def test_each_check_fails_when_the_two_disagree(check, words):
    with pytest.raises(AssertionError, match=words.replace("(", r"\(")):
        check()
