"""The secret-to-job map against the threat model (docs/threat-model.md): the workflows and
the github/ program (under mocks) loaded together, every job's reach computed (everything
its environment holds: a changed workflow can name any of it), and the threat model's
rules checked on it. Each rule also runs on a copy broken on purpose, a workflow or a
github/ registration changed, and must fail there with one line naming the job or the
secret; the threat model's own tables (where each credential is held, what each job may
do) are checked against the files too."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import pytest

from github_harness import SECRETS, run_github
from harness import Resource
from matra_github.workflows import shipped_stacks
from matra_policies.types import (
    GITHUB_ACTIONS_SECRET,
    GITHUB_ENVIRONMENT,
    GITHUB_ENVIRONMENT_SECRET,
)
from threat_map import (
    THREAT_MODEL,
    credential_table,
    environments,
    held_as_documented,
    permissions_table,
    rules,
    secret_map,
)
from workflow_files import REPOSITORIES, Doc, all_jobs, broken, environment, everything, triggers

DOCS = everything()
STACKS = shipped_stacks()


@functools.cache
def registrations() -> tuple[Resource, ...]:
    program = run_github()
    assert program.error is None, program.error
    return tuple(program.registrations)


ORG_PASSPHRASE = {"orgConfigPassphrase": "stand-in-orgConfigPassphrase"}
"""A setting no program has: what a broken copy puts in a workflow's reach."""


def check(
    docs: list[Doc] = DOCS, changed: Callable[[list[Resource]], list[Resource]] | None = None
) -> list[str]:
    """The rules' findings for ``docs`` and the program's registrations (``changed``)."""
    resources = list(registrations())
    if changed is not None:
        resources = changed(resources)
    envs, repository_level = environments(resources, {**SECRETS, **ORG_PASSPHRASE}, REPOSITORIES)
    return rules(all_jobs(docs, STACKS), envs, repository_level, credential_table(), STACKS)


def test_the_shipped_workflows_and_repositories_keep_every_rule():
    assert check() == []


def test_a_pull_requests_preview_reaches_prod_and_staging_only_behind_a_reviewer():
    envs, repository_level = environments(list(registrations()), SECRETS, REPOSITORIES)
    jobs = all_jobs(DOCS, STACKS)
    reach = secret_map(jobs, envs, repository_level, credential_table())
    by_pull_requests = {(r.environment, r.can) for r in reach if "pull_request" in r.job.triggers}
    # What a pull request can read at all: each stack's read-only keys and passphrase in
    # its preview environment; dev's without approval, staging's and prod's with one.
    assert {can for _, can in by_pull_requests} == {
        f"{verb} {stack}" for verb in ("read", "decrypt") for stack in STACKS
    }
    for name, _ in by_pull_requests:
        assert envs["infra", name].reviewed == (name != "preview-dev"), name


# -- each rule fails on a copy broken on purpose ------------------------------------------


def _environment(
    resources: list[Resource], name: str, repository: str = "matra-infra", **inputs
) -> list[Resource]:
    out = []
    for r in resources:
        if (
            r.type == GITHUB_ENVIRONMENT
            and r.inputs["environment"] == name
            and r.inputs["repository"] == repository
        ):
            r = dataclasses.replace(r, inputs={**r.inputs, **inputs})
        out.append(r)
    return out


def _add_secret(repository: str, secret: str, setting: str, environment: str | None = None):
    def change(resources: list[Resource]) -> list[Resource]:
        inputs = {
            "repository": repository,
            "secretName": secret,
            "value": {**SECRETS, **ORG_PASSPHRASE}[setting],
        }
        if environment is None:
            return [*resources, Resource(GITHUB_ACTIONS_SECRET, f"x-{secret}", inputs)]
        return [
            *resources,
            Resource(
                GITHUB_ENVIRONMENT_SECRET, f"x-{secret}", {**inputs, "environment": environment}
            ),
        ]

    return change


def _same_value(secret: str, environment: str, setting: str):
    """production's ``secret`` fed from ``setting`` (shared with another environment)."""

    def change(resources: list[Resource]) -> list[Resource]:
        out = []
        for r in resources:
            inputs = r.inputs
            if (
                r.type == GITHUB_ENVIRONMENT_SECRET
                and inputs["environment"] == environment
                and inputs["secretName"] == secret
            ):
                r = dataclasses.replace(r, inputs={**inputs, "value": SECRETS[setting]})
            out.append(r)
        return out

    return change


BREAKS: list[tuple[str, Callable[[], list[str]], str]] = [
    (
        "a-pull-request-previews-in-plan-prod",
        lambda: check(
            broken(
                DOCS,
                "pull-request.yml",
                "name: preview-${{ matrix.stack }}",
                "name: plan-${{ matrix.stack }}",
            )
        ),
        "pull-request.yml preview: a pull request's run can read PULUMI_CONFIG_PASSPHRASE "
        "(decrypt prod) in plan-prod without a reviewer's approval",
    ),
    (
        "a-pull-request-job-in-staging",
        lambda: check(
            broken(
                DOCS,
                "pull-request.yml",
                "    name: stacks\n",
                "    name: stacks\n    environment: staging\n",
            )
        ),
        "pull-request.yml stacks: a pull request's run can read DIGITALOCEAN_TOKEN "
        "(write staging) in staging",
    ),
    (
        "preview-prod-without-reviewers",
        lambda: check(changed=lambda rs: _environment(rs, "preview-prod", reviewers=None)),
        "pull-request.yml preview: a pull request's run can read PULUMI_CONFIG_PASSPHRASE "
        "(decrypt prod) in preview-prod",
    ),
    (
        "preview-prod-approvable-by-its-initiator",
        lambda: check(changed=lambda rs: _environment(rs, "preview-prod", preventSelfReview=False)),
        "(decrypt prod) in preview-prod without a reviewer's approval",
    ),
    (
        "a-write-key-at-repository-level",
        lambda: check(
            changed=_add_secret("matra-infra", "DIGITALOCEAN_TOKEN", "prodDigitaloceanToken")
        ),
        "infra: the secret DIGITALOCEAN_TOKEN is at repository level",
    ),
    (
        "staging-open-to-any-branch",
        lambda: check(changed=lambda rs: _environment(rs, "staging", deploymentBranchPolicy=None)),
        "infra staging: SPACES_ACCESS_KEY_ID (write staging) in an environment any branch may "
        "run in, with no reviewer",
    ),
    (
        "a-passphrase-in-the-app-repository",
        lambda: check(
            changed=_add_secret(
                "matra-app", "PULUMI_CONFIG_PASSPHRASE", "prodConfigPassphrase", "production"
            )
        ),
        "app production: PULUMI_CONFIG_PASSPHRASE (decrypt prod): the app repository holds no "
        "passphrase or state key",
    ),
    (
        "the-org-passphrase-in-a-workflow",
        lambda: check(
            changed=_add_secret("matra-infra", "ORG_PASSPHRASE", "orgConfigPassphrase", "plan-prod")
        ),
        "infra plan-prod: ORG_PASSPHRASE holds the org stack's passphrase",
    ),
    (
        "staging-and-prod-share-a-token",
        lambda: check(
            changed=_same_value("DIGITALOCEAN_TOKEN", "production", "stagingDigitaloceanToken")
        ),
        "stagingDigitaloceanToken is held by both staging's and prod's environments",
    ),
]


@pytest.mark.parametrize(("check_", "words"), [pytest.param(*b[1:], id=b[0]) for b in BREAKS])
def test_each_rule_fails_on_a_broken_copy(check_, words):
    problems = check_()
    assert any(words in line for line in problems), problems
    assert all("\n" not in line for line in problems)


# -- the threat model's tables are true of the files ---------------------------------------


def test_every_credential_is_held_where_the_threat_model_says():
    envs, _ = environments(list(registrations()), SECRETS, REPOSITORIES)
    assert held_as_documented(envs, credential_table(), STACKS) == []


def test_the_credentials_table_fails_when_it_misplaces_one():
    text = THREAT_MODEL.read_text().replace(
        "| infra: `<deploy>` | `write <stack>`: its state and its lock |",
        "| infra: `<deploy>`, `plan-<stack>` | `write <stack>`: its state and its lock |",
    )
    envs, _ = environments(list(registrations()), SECRETS, REPOSITORIES)
    problems = held_as_documented(envs, credential_table(text), STACKS)
    assert (
        "a Spaces key that writes the stack's bucket (staging): the threat model says"
        in "\n".join(problems)
    )


def _permissions(job: dict) -> str:
    granted = job.get("permissions")
    if granted == {}:
        return "{}"
    return ", ".join(f"{scope}: {level}" for scope, level in granted.items())


def _documented_jobs(docs: list[Doc]) -> dict[tuple[str, str], dict[str, str]]:
    found = {}
    for doc in docs:
        if doc.is_action or doc.path.startswith("examples/"):
            continue
        events = sorted(triggers(docs, doc))
        for job_id, job in doc.jobs().items():
            name = environment(job) or "none"
            if doc.is_reusable:
                name = f"app: {name}"
                runs_on = "the app's " + ", ".join(events)
            else:
                runs_on = ", ".join(events)
            found[doc.name, job_id] = {
                "runs on": runs_on,
                "environment": name.replace("${{ matrix.stack }}", "<stack>"),
                "permissions": _permissions(job),
            }
    return found


def test_each_jobs_trigger_environment_and_permissions_are_the_threat_models():
    assert permissions_table() == _documented_jobs(DOCS)


def test_the_permissions_table_fails_when_a_job_asks_for_more():
    docs = broken(
        DOCS,
        "update.yml",
        "      contents: read\n",
        "      contents: read\n      issues: write\n",
        after="name: update (staging)",
    )
    documented = permissions_table()
    actual = _documented_jobs(docs)
    assert documented["update.yml", "staging"]["permissions"] == "contents: read"
    assert actual["update.yml", "staging"]["permissions"] == "contents: read, issues: write"
