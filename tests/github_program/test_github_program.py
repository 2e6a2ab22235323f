"""The github/ program under mocks with its real Pulumi.org.yaml: what it manages in each
repository (branch protection, environments, Actions secrets and variables), the
read-only deploy key, and the secrets kept secret."""

import pytest

from github_harness import SECRETS, run_github
from harness import is_secret_input, plain
from matra_policies.types import (
    GITHUB_ACTIONS_SECRET,
    GITHUB_ACTIONS_VARIABLE,
    GITHUB_BRANCH_PROTECTION,
    GITHUB_DEPLOY_KEY,
    GITHUB_ENVIRONMENT,
)

ACCESS_LEVEL = "github:index/actionsRepositoryAccessLevel:ActionsRepositoryAccessLevel"
REPOSITORIES = {"infra": "matra-infra", "app": "matra-app"}


@pytest.fixture(scope="module")
def program():
    run = run_github()
    assert run.error is None, run.error
    return run


def of(program, type_, repository):
    key = "repositoryId" if type_ == GITHUB_BRANCH_PROTECTION else "repository"
    return [r for r in program.of_type(type_) if r.inputs[key] == repository]


@pytest.mark.parametrize("repository", sorted(REPOSITORIES.values()))
def test_the_default_branch_takes_only_reviewed_green_pull_requests(program, repository):
    (protection,) = of(program, GITHUB_BRANCH_PROTECTION, repository)
    assert protection.inputs["pattern"] == "main"  # the repository's default branch
    assert protection.inputs["enforceAdmins"] is True
    assert protection.inputs["allowsForcePushes"] is False
    assert protection.inputs["allowsDeletions"] is False
    (reviews,) = protection.inputs["requiredPullRequestReviews"]
    assert reviews == {"requiredApprovingReviewCount": 1, "dismissStaleReviews": True}
    (checks,) = protection.inputs["requiredStatusChecks"]
    assert checks["strict"] is True and checks["contexts"]


def test_the_required_checks_are_the_pull_request_workflows_jobs(program):
    (infra,) = of(program, GITHUB_BRANCH_PROTECTION, "matra-infra")
    (app,) = of(program, GITHUB_BRANCH_PROTECTION, "matra-app")
    assert infra.inputs["requiredStatusChecks"][0]["contexts"] == [
        "test",
        "stacks",
        "preview (dev)",
        "preview (prod)",
        "preview (staging)",
    ]
    assert app.inputs["requiredStatusChecks"][0]["contexts"] == ["test"]  # Pulumi.org.yaml
    assert (
        program.outputs["infraRequiredChecks"].value
        == infra.inputs["requiredStatusChecks"][0]["contexts"]
    )


@pytest.mark.parametrize("repository", sorted(REPOSITORIES.values()))
def test_staging_and_production_deploy_from_the_protected_branch_only(program, repository):
    environments = {
        r.inputs["environment"]: r.inputs for r in of(program, GITHUB_ENVIRONMENT, repository)
    }
    assert set(environments) == {"staging", "production"}
    for inputs in environments.values():
        assert inputs["deploymentBranchPolicy"] == {
            "protectedBranches": True,
            "customBranchPolicies": False,
        }
    production = environments["production"]
    assert production["reviewers"] == [{"users": [], "teams": [pytest.approx(1471662070)]}]
    assert production["canAdminsBypass"] is False
    assert "reviewers" not in environments["staging"]


def test_reviewers_are_looked_up_by_login_and_slug():
    run = run_github(overrides={"productionReviewers": ["@alice", "@matra-io/platform", "@bob"]})
    assert run.error is None, run.error
    (production,) = [
        r
        for r in of(run, GITHUB_ENVIRONMENT, "matra-infra")
        if r.inputs["environment"] == "production"
    ]
    (reviewers,) = production.inputs["reviewers"]
    assert len(reviewers["users"]) == 2 and len(reviewers["teams"]) == 1
    assert run.outputs["productionReviewers"].value == ["@alice", "@matra-io/platform", "@bob"]


def test_each_repository_gets_exactly_its_workflows_secrets(program):
    names = {
        key: {r.inputs["secretName"] for r in of(program, GITHUB_ACTIONS_SECRET, repo)}
        for key, repo in REPOSITORIES.items()
    }
    assert names["infra"] == {
        "DIGITALOCEAN_TOKEN",
        "MONGODB_ATLAS_PUBLIC_KEY",
        "MONGODB_ATLAS_PRIVATE_KEY",
        "SPACES_ACCESS_KEY_ID",
        "SPACES_SECRET_ACCESS_KEY",
        "PULUMI_CONFIG_PASSPHRASE",
    }
    assert names["app"] == {
        "DOCR_TOKEN",
        "SPACES_ACCESS_KEY_ID",
        "SPACES_SECRET_ACCESS_KEY",
        "PULUMI_CONFIG_PASSPHRASE",
        "INFRA_DEPLOY_KEY",
    }


def test_every_secret_value_is_sent_as_a_secret_from_its_setting(program):
    secrets = program.of_type(GITHUB_ACTIONS_SECRET)
    for secret in secrets:
        assert is_secret_input(secret.inputs["value"]), secret.name
        assert "plaintextValue" not in secret.inputs  # deprecated, and would be logged
    values = {
        (r.inputs["repository"], r.inputs["secretName"]): plain(r.inputs["value"]) for r in secrets
    }
    assert values["matra-infra", "DIGITALOCEAN_TOKEN"] == SECRETS["digitaloceanToken"]
    assert values["matra-app", "DOCR_TOKEN"] == SECRETS["registryToken"]
    # The app repository reads the state with its own, read-only Spaces key.
    assert values["matra-app", "SPACES_ACCESS_KEY_ID"] == SECRETS["stateReadAccessKeyId"]
    assert values["matra-infra", "SPACES_ACCESS_KEY_ID"] == SECRETS["stateAccessKeyId"]
    assert values["matra-app", "INFRA_DEPLOY_KEY"].startswith("-----BEGIN OPENSSH PRIVATE KEY")


def test_the_app_checks_this_repository_out_with_a_read_only_key(program):
    (key,) = program.of_type(GITHUB_DEPLOY_KEY)
    assert key.inputs["repository"] == "matra-infra"
    assert key.inputs["readOnly"] is True
    assert key.inputs["key"].startswith("ssh-ed25519 ")


@pytest.mark.parametrize("repository", sorted(REPOSITORIES.values()))
def test_both_repositories_get_the_backend_and_the_ssh_runner(program, repository):
    variables = {
        r.inputs["variableName"]: r.inputs["value"]
        for r in of(program, GITHUB_ACTIONS_VARIABLE, repository)
    }
    assert variables == {
        "PULUMI_BACKEND_URL": "s3://matra-pulumi-state?endpoint=nyc3.digitaloceanspaces.com&region=us-east-1",
        "SSH_RUNNER": "ubuntu-24.04",
    }


def test_a_private_infra_repository_shares_its_workflows_with_the_organisation(program):
    (access,) = program.of_type(ACCESS_LEVEL)
    assert access.inputs == {"repository": "matra-infra", "accessLevel": "organization"}
    public = run_github(visibility="public")
    assert public.error is None, public.error
    assert public.of_type(ACCESS_LEVEL) == []


def test_every_resource_sits_in_a_repositorys_guardrails_or_is_the_deploy_key(program):
    parents = {r.name: r.parent.rsplit("::", 1)[-1] for r in program.registrations if r.custom}
    at_the_top = {name for name, parent in parents.items() if parent == "matra-github-org"}
    # The deploy key (its tls key pair and the key GitHub holds) and the workflows' access.
    assert at_the_top == {"infra-deploy-key", "infra-workflow-access"}
    for name, parent in parents.items():
        if name not in at_the_top:
            assert parent == name.split("-", 1)[0], f"{name} sits under {parent}"
