"""What the workflows in .github/workflows/ expect of the two repositories, in one place:
the checks a pull request must pass, the environments (who may run in each, who
approves), and the secrets and variables each environment holds, with the github/
setting each secret's value comes from. The program configures exactly these; the tests
hold the workflows and docs/threat-model.md to the same lists
(tests/github_program/test_github_contract.py, tests/test_threat_model.py).

Nothing that writes or decrypts lives at repository level: every credential is an
environment secret, in the one environment whose jobs need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository root, where the main program's stack files are."""

GITHUB_ACTIONS_APP_ID = 15368
"""GitHub Actions' integration id: a required check must come from a workflow run, so a
commit status of the same name (which anyone with write access can post) can't pass it."""

TEST_CHECK = "test"
"""The pull-request workflow's job that runs the test suite (.ci/run)."""
PREVIEWS_CHECK = "previews"
"""Its job that passes only when every shipped stack's preview passed: one check, so a
stack file added or deleted by a pull request never leaves a required check unreported."""
INFRA_REQUIRED_CHECKS = (TEST_CHECK, PREVIEWS_CHECK)


def shipped_stacks(root: Path = ROOT) -> tuple[str, ...]:
    """The main program's stacks, one Pulumi.<stack>.yaml each (what the workflow's stacks
    job lists)."""
    return tuple(sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml")))


STAGING = "staging"
PRODUCTION = "production"
DEPLOYED_STACKS = {"staging": STAGING, "prod": PRODUCTION}
"""The stacks the pipeline updates (update.yml) and deploys the app to, with the GitHub
environment of each, in this order: staging first, prod after it."""
REGISTRY = "registry"
"""The app repository's environment whose job builds and pushes the image."""


def preview_environment(stack: str) -> str:
    """Where a pull request previews ``stack``: any branch may ask, read-only credentials,
    a reviewer approves the run unless the stack is one of ``unreviewedPreviews``."""
    return f"preview-{stack}"


def plan_environment(stack: str) -> str:
    """Where the default branch reads ``stack`` without changing it: update.yml plans prod
    there (before the approval), drift.yml checks every stack for drift each night.
    Read-only credentials, the default branch alone."""
    return f"plan-{stack}"


DRIFT_LABEL = "drift"
"""The label of the drift issues drift.yml opens (one per stack; scripts/drift_issue.py
finds the open one by it): github/ makes it in this repository, so it is there before
the first night."""


RESTORE_DRILL = "restore-drill"
"""Where restore-drill.yml restores staging's latest snapshot into a throwaway cluster
each month: staging's Atlas key alone (it creates and deletes a cluster in staging's
project), the default branch alone."""


@dataclass(frozen=True)
class Credential:
    """One environment secret: the name the workflows read and the github/ setting its
    value comes from (``{stack}`` stands for the stack's name)."""

    secret: str
    setting: str

    def setting_for(self, stack: str) -> str:
        return self.setting.replace("{stack}", stack)


READ_CREDENTIALS = (
    Credential("PULUMI_CONFIG_PASSPHRASE", "{stack}ConfigPassphrase"),
    Credential("SPACES_ACCESS_KEY_ID", "{stack}StateReadKeyId"),
    Credential("SPACES_SECRET_ACCESS_KEY", "{stack}StateReadSecret"),
    Credential("DIGITALOCEAN_TOKEN", "{stack}DigitaloceanReadToken"),
    Credential("MONGODB_ATLAS_PUBLIC_KEY", "{stack}AtlasReadPublicKey"),
    Credential("MONGODB_ATLAS_PRIVATE_KEY", "{stack}AtlasReadPrivateKey"),
)
"""What a preview, a plan or a drift check of a stack needs: the stack's passphrase (the
program decrypts its config and state), and read-only keys to the stack's state bucket,
DigitalOcean and the stack's Atlas project."""

WRITE_CREDENTIALS = (
    Credential("PULUMI_CONFIG_PASSPHRASE", "{stack}ConfigPassphrase"),
    Credential("SPACES_ACCESS_KEY_ID", "{stack}StateKeyId"),
    Credential("SPACES_SECRET_ACCESS_KEY", "{stack}StateSecret"),
    Credential("DIGITALOCEAN_TOKEN", "{stack}DigitaloceanToken"),
    Credential("MONGODB_ATLAS_PUBLIC_KEY", "{stack}AtlasPublicKey"),
    Credential("MONGODB_ATLAS_PRIVATE_KEY", "{stack}AtlasPrivateKey"),
    Credential("DEPLOY_MATERIAL_APP_PRIVATE_KEY", "deployMaterialAppPrivateKey"),
)
"""What `pulumi up` of a stack needs, and what publishes the stack's deploy material to
the app repository's environment of the same name (a GitHub App's key)."""

REGISTRY_CREDENTIALS = (Credential("DOCR_TOKEN", "registryToken"),)
"""The app's build: a DigitalOcean token that pushes to the container registry."""

DRILL_STACK = "staging"
DRILL_CREDENTIALS = (
    Credential("MONGODB_ATLAS_PUBLIC_KEY", "{stack}AtlasPublicKey"),
    Credential("MONGODB_ATLAS_PRIVATE_KEY", "{stack}AtlasPrivateKey"),
)
"""The restore drill: staging's Atlas key (the update's), to create, restore into and
delete a cluster in staging's project."""

DEPLOY_KEY_SECRET = "INFRA_DEPLOY_KEY"
"""The app repository's secret (in staging and production) holding the private half of
this repository's read-only deploy key, generated by the program: the deploy jobs check
this repository out with it (the deploy command lives here)."""

# The variables (vars.*) the program sets.
BACKEND_URL_VARIABLE = "PULUMI_BACKEND_URL"
"""Each stack's state backend (one Spaces bucket per stack), in its environments."""
SSH_RUNNER_VARIABLE = "SSH_RUNNER"
"""Both repositories: the runner label of the jobs that reach the droplets over SSH."""
APP_IMAGE_VARIABLE = "APP_IMAGE"
"""The app repository: where the build pushes the image (the stacks' appImage)."""
APP_REPOSITORY_VARIABLE = "APP_REPOSITORY"
"""The deploy environments: the app repository the update job publishes deploy material to."""
APP_CLIENT_ID_VARIABLE = "DEPLOY_MATERIAL_APP_CLIENT_ID"
"""The deploy environments: the GitHub App whose token writes that material."""

INFRA_VARIABLES = (SSH_RUNNER_VARIABLE,)
"""This repository's repository-level variables (nothing secret, nothing that writes)."""
APP_VARIABLES = (SSH_RUNNER_VARIABLE, APP_IMAGE_VARIABLE)
"""The app repository's repository-level variables."""

DEPLOY_MATERIAL = {
    "project": ("variable", "DEPLOY_PROJECT"),
    "stack": ("variable", "DEPLOY_STACK"),
    "appImage": ("variable", "DEPLOY_IMAGE"),
    "deployUser": ("variable", "DEPLOY_USER"),
    "deployTargets": ("variable", "DEPLOY_TARGETS"),
    "sshKnownHosts": ("variable", "DEPLOY_KNOWN_HOSTS"),
    "healthCheck": ("variable", "DEPLOY_HEALTH_CHECK"),
    "apiUrl": ("variable", "DEPLOY_URL"),
    "deploySshPrivateKey": ("secret", "DEPLOY_SSH_KEY"),
}
"""A stack output the deploy command reads -> how it reaches the app repository's
environment of the same name: written by update.yml after each update of the stack
(scripts/deploy_material.py publish), read back into an outputs file by the app's deploy
jobs (scripts/deploy_material.py assemble). Not github/'s: it changes with the stack."""


@dataclass(frozen=True)
class EnvironmentSpec:
    """One GitHub environment: who may run in it, who approves, what it holds."""

    name: str
    repository: str
    """"infra" (this repository) or "app"."""
    stack: str | None
    """The main program's stack whose credentials it holds, if any."""
    any_branch: bool
    """True: pull requests' branches may run in it (a preview); False: the default
    branch alone."""
    reviewers: str | None
    """None, "production" (productionReviewers) or "preview" (previewReviewers)."""
    credentials: tuple[Credential, ...] = ()
    variables: tuple[str, ...] = ()
    """The variables github/ sets in it (deploy material is update.yml's, not listed)."""
    deploy_key: bool = False
    """Whether it holds INFRA_DEPLOY_KEY."""

    def secret_names(self) -> tuple[str, ...]:
        names = {c.secret for c in self.credentials}
        if self.deploy_key:
            names.add(DEPLOY_KEY_SECRET)
        return tuple(sorted(names))


def environments(
    stacks: tuple[str, ...] | None = None, unreviewed_previews: tuple[str, ...] = ("dev",)
) -> tuple[EnvironmentSpec, ...]:
    """Every environment of both repositories, for the shipped ``stacks``."""
    stacks = shipped_stacks() if stacks is None else stacks
    found: list[EnvironmentSpec] = []
    for stack in stacks:
        found.append(
            EnvironmentSpec(
                preview_environment(stack),
                "infra",
                stack,
                any_branch=True,
                reviewers=None if stack in unreviewed_previews else "preview",
                credentials=READ_CREDENTIALS,
                variables=(BACKEND_URL_VARIABLE,),
            )
        )
        found.append(
            EnvironmentSpec(
                plan_environment(stack),
                "infra",
                stack,
                any_branch=False,
                reviewers=None,
                credentials=READ_CREDENTIALS,
                variables=(BACKEND_URL_VARIABLE,),
            )
        )
    for stack, name in DEPLOYED_STACKS.items():
        if stack not in stacks:
            continue
        reviewers = "production" if name == PRODUCTION else None
        found.append(
            EnvironmentSpec(
                name,
                "infra",
                stack,
                any_branch=False,
                reviewers=reviewers,
                credentials=WRITE_CREDENTIALS,
                variables=(BACKEND_URL_VARIABLE, APP_REPOSITORY_VARIABLE, APP_CLIENT_ID_VARIABLE),
            )
        )
        found.append(
            EnvironmentSpec(
                name, "app", stack, any_branch=False, reviewers=reviewers, deploy_key=True
            )
        )
    if DRILL_STACK in stacks:
        found.append(
            EnvironmentSpec(
                RESTORE_DRILL,
                "infra",
                DRILL_STACK,
                any_branch=False,
                reviewers=None,
                credentials=DRILL_CREDENTIALS,
            )
        )
    found.append(
        EnvironmentSpec(
            REGISTRY,
            "app",
            None,
            any_branch=False,
            reviewers=None,
            credentials=REGISTRY_CREDENTIALS,
        )
    )
    return tuple(found)


def deployed_stacks(stacks: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The deployed stacks among the shipped ones, staging first."""
    stacks = shipped_stacks() if stacks is None else stacks
    return tuple(s for s in DEPLOYED_STACKS if s in stacks)


def secret_settings(stacks: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Every github/ setting that holds a secret's value (each set with --secret)."""
    names = {
        credential.setting_for(spec.stack or "")
        for spec in environments(stacks, ())
        for credential in spec.credentials
    }
    return tuple(sorted(names))


def backend_settings(stacks: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The setting naming each stack's state backend."""
    stacks = shipped_stacks() if stacks is None else stacks
    return tuple(f"{stack}BackendUrl" for stack in stacks)
