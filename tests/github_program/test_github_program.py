"""The github/ program under mocks with its real Pulumi.org.yaml: what it manages in each
repository (the default branch's ruleset, the workflows' permissions, the environments
with their branch policies, reviewers, secrets and variables), the read-only deploy key,
and the secrets kept secret and each in its place."""

import pytest

from github_harness import SECRETS, run_github
from harness import is_secret_input, plain
from matra_github.workflows import GITHUB_ACTIONS_APP_ID
from matra_policies.types import (
    GITHUB_ACTIONS_PERMISSIONS,
    GITHUB_ACTIONS_SECRET,
    GITHUB_ACTIONS_VARIABLE,
    GITHUB_DEPLOY_KEY,
    GITHUB_ENVIRONMENT,
    GITHUB_ENVIRONMENT_POLICY,
    GITHUB_ENVIRONMENT_SECRET,
    GITHUB_ENVIRONMENT_VARIABLE,
    GITHUB_RULESET,
    GITHUB_WORKFLOW_PERMISSIONS,
)

ACCESS_LEVEL = "github:index/actionsRepositoryAccessLevel:ActionsRepositoryAccessLevel"
REPOSITORIES = {"infra": "matra-infra", "app": "matra-app"}
TEAM_ID = pytest.approx(1471662070)
"""The mocks' id of @matra-io/platform, Pulumi.org.yaml's reviewers."""


@pytest.fixture(scope="module")
def program():
    run = run_github()
    assert run.error is None, run.error
    return run


def of(program, type_, repository):
    return [r for r in program.of_type(type_) if r.inputs["repository"] == repository]


def environments(program, repository):
    return {r.inputs["environment"]: r.inputs for r in of(program, GITHUB_ENVIRONMENT, repository)}


def held(program, repository):
    """{environment: {secret name: the setting whose stand-in value it holds}}."""
    by_value = {value: key for key, value in SECRETS.items()}
    found: dict[str, dict[str, str]] = {}
    for r in of(program, GITHUB_ENVIRONMENT_SECRET, repository):
        value = plain(r.inputs["value"])
        found.setdefault(r.inputs["environment"], {})[r.inputs["secretName"]] = by_value.get(
            value, "(generated)"
        )
    return found


@pytest.mark.parametrize("repository", sorted(REPOSITORIES.values()))
def test_the_default_branch_takes_only_reviewed_green_pull_requests(program, repository):
    (ruleset,) = of(program, GITHUB_RULESET, repository)
    inputs = ruleset.inputs
    assert (inputs["target"], inputs["enforcement"]) == ("branch", "active")
    assert inputs["conditions"]["refName"]["includes"] == ["~DEFAULT_BRANCH"]
    assert "bypassActors" not in inputs  # nobody, administrators included
    rules = inputs["rules"]
    assert rules["deletion"] is True and rules["nonFastForward"] is True
    assert rules["pullRequest"] == {
        "requiredApprovingReviewCount": 1,
        "dismissStaleReviewsOnPush": True,
        "requireCodeOwnerReview": True,
        "requireLastPushApproval": True,
        "requiredReviewThreadResolution": False,
    }
    checks = rules["requiredStatusChecks"]
    assert checks["strictRequiredStatusChecksPolicy"] is True
    # Every check must come from GitHub Actions: a commit status of its name is no pass.
    assert {c["integrationId"] for c in checks["requiredChecks"]} == {GITHUB_ACTIONS_APP_ID}


def test_the_required_checks_are_the_test_suite_and_every_preview_at_once(program):
    (infra,) = of(program, GITHUB_RULESET, "matra-infra")
    (app,) = of(program, GITHUB_RULESET, "matra-app")
    contexts = [
        c["context"] for c in infra.inputs["rules"]["requiredStatusChecks"]["requiredChecks"]
    ]
    # Not one check per stack: a stack file a pull request adds or deletes can't leave a
    # required check that nothing reports.
    assert contexts == ["test", "previews"]
    app_checks = app.inputs["rules"]["requiredStatusChecks"]["requiredChecks"]
    assert [c["context"] for c in app_checks] == ["test"]  # Pulumi.org.yaml
    assert program.outputs["infraRequiredChecks"].value == contexts


@pytest.mark.parametrize("repository", sorted(REPOSITORIES.values()))
def test_workflow_tokens_read_and_never_approve_and_actions_are_pinned(program, repository):
    (tokens,) = of(program, GITHUB_WORKFLOW_PERMISSIONS, repository)
    assert tokens.inputs["defaultWorkflowPermissions"] == "read"
    assert tokens.inputs["canApprovePullRequestReviews"] is False
    (actions,) = of(program, GITHUB_ACTIONS_PERMISSIONS, repository)
    assert actions.inputs["shaPinningRequired"] is True


def test_neither_repository_keeps_a_secret_at_repository_level(program):
    assert program.of_type(GITHUB_ACTIONS_SECRET) == []
    variables = {
        (r.inputs["repository"], r.inputs["variableName"]): r.inputs["value"]
        for r in program.of_type(GITHUB_ACTIONS_VARIABLE)
    }
    assert variables == {
        ("matra-infra", "SSH_RUNNER"): "ubuntu-24.04",
        ("matra-app", "SSH_RUNNER"): "ubuntu-24.04",
        ("matra-app", "APP_IMAGE"): "registry.digitalocean.com/matra/api",
    }


def test_each_environment_takes_runs_from_the_branches_it_names(program):
    policies = {
        (r.inputs["repository"], r.inputs["environment"]): r.inputs["branchPattern"]
        for r in program.of_type(GITHUB_ENVIRONMENT_POLICY)
    }
    for repository in REPOSITORIES.values():
        for name, inputs in environments(program, repository).items():
            policy = inputs.get("deploymentBranchPolicy")
            if name.startswith("preview-"):
                # A pull request's branch previews there: no branch policy at all.
                assert policy is None, name
                assert (repository, name) not in policies
            else:
                # The default branch by name (the mocks' default branch is main).
                assert policy == {"protectedBranches": False, "customBranchPolicies": True}
                assert policies[repository, name] == "main", name


def test_reviewed_environments_wait_for_someone_other_than_the_runs_initiator(program):
    reviewed = {
        (repository, name)
        for repository in REPOSITORIES.values()
        for name, inputs in environments(program, repository).items()
        if inputs.get("reviewers")
    }
    assert reviewed == {
        ("matra-infra", "preview-staging"),
        ("matra-infra", "preview-prod"),
        ("matra-infra", "production"),
        ("matra-app", "production"),
    }
    for repository, name in reviewed:
        inputs = environments(program, repository)[name]
        assert inputs["reviewers"] == [{"users": [], "teams": [TEAM_ID]}]
        assert inputs["preventSelfReview"] is True
        assert inputs["canAdminsBypass"] is False


def test_preview_reviewers_can_differ_from_productions():
    run = run_github(overrides={"previewReviewers": ["@alice", "@bob"]})
    assert run.error is None, run.error
    infra = environments(run, "matra-infra")
    assert len(infra["preview-prod"]["reviewers"][0]["users"]) == 2
    assert infra["production"]["reviewers"] == [{"users": [], "teams": [TEAM_ID]}]
    assert run.outputs["previewReviewers"].value == ["@alice", "@bob"]


def test_reviewers_are_looked_up_by_login_and_slug():
    run = run_github(overrides={"productionReviewers": ["@alice", "@matra-io/platform", "@bob"]})
    assert run.error is None, run.error
    (reviewers,) = environments(run, "matra-infra")["production"]["reviewers"]
    assert len(reviewers["users"]) == 2 and len(reviewers["teams"]) == 1
    assert run.outputs["productionReviewers"].value == ["@alice", "@matra-io/platform", "@bob"]


def test_each_environment_holds_its_own_stacks_credentials(program):
    infra = held(program, "matra-infra")
    read = {
        "PULUMI_CONFIG_PASSPHRASE": "{s}ConfigPassphrase",
        "SPACES_ACCESS_KEY_ID": "{s}StateReadKeyId",
        "SPACES_SECRET_ACCESS_KEY": "{s}StateReadSecret",
        "DIGITALOCEAN_TOKEN": "{s}DigitaloceanReadToken",
        "MONGODB_ATLAS_PUBLIC_KEY": "{s}AtlasReadPublicKey",
        "MONGODB_ATLAS_PRIVATE_KEY": "{s}AtlasReadPrivateKey",
    }
    # A pull request's preview of each stack; prod's plan, made before its approval.
    for environment, stack in [
        ("preview-dev", "dev"),
        ("preview-staging", "staging"),
        ("preview-prod", "prod"),
        ("plan-prod", "prod"),
    ]:
        assert infra[environment] == {k: v.format(s=stack) for k, v in read.items()}
    for stack, environment in (("staging", "staging"), ("prod", "production")):
        assert infra[environment] == {
            "PULUMI_CONFIG_PASSPHRASE": f"{stack}ConfigPassphrase",
            "SPACES_ACCESS_KEY_ID": f"{stack}StateKeyId",
            "SPACES_SECRET_ACCESS_KEY": f"{stack}StateSecret",
            "DIGITALOCEAN_TOKEN": f"{stack}DigitaloceanToken",
            "MONGODB_ATLAS_PUBLIC_KEY": f"{stack}AtlasPublicKey",
            "MONGODB_ATLAS_PRIVATE_KEY": f"{stack}AtlasPrivateKey",
            "DEPLOY_MATERIAL_APP_PRIVATE_KEY": "deployMaterialAppPrivateKey",
        }
    # The app repository: the registry token where the build runs, this repository's
    # read-only deploy key where the deploy runs; no passphrase, no state key.
    assert held(program, "matra-app") == {
        "registry": {"DOCR_TOKEN": "registryToken"},
        "staging": {"INFRA_DEPLOY_KEY": "(generated)"},
        "production": {"INFRA_DEPLOY_KEY": "(generated)"},
    }


def test_every_secret_value_is_sent_as_a_secret(program):
    secrets = program.of_type(GITHUB_ENVIRONMENT_SECRET)
    for secret in secrets:
        assert is_secret_input(secret.inputs["value"]), secret.name
        assert "plaintextValue" not in secret.inputs  # deprecated, and would be logged
    keys = [
        plain(s.inputs["value"]) for s in secrets if s.inputs["secretName"] == "INFRA_DEPLOY_KEY"
    ]
    assert len(keys) == 2 and all(k.startswith("-----BEGIN OPENSSH PRIVATE KEY") for k in keys)


def test_environment_variables_name_each_stacks_backend_and_the_app(program):
    found = {
        (r.inputs["environment"], r.inputs["variableName"]): r.inputs["value"]
        for r in of(program, GITHUB_ENVIRONMENT_VARIABLE, "matra-infra")
    }
    bucket = "s3://matra-state-{}?endpoint=nyc3.digitaloceanspaces.com&region=us-east-1"
    for stack in ("dev", "staging", "prod"):
        assert found[f"preview-{stack}", "PULUMI_BACKEND_URL"] == bucket.format(stack)
    assert found["plan-prod", "PULUMI_BACKEND_URL"] == bucket.format("prod")
    for environment in ("staging", "production"):
        assert found[environment, "APP_REPOSITORY"] == "matra-io/matra-app"
        assert found[environment, "DEPLOY_MATERIAL_APP_CLIENT_ID"] == "Iv23liMatraDeployMat"
    assert found["production", "PULUMI_BACKEND_URL"] == bucket.format("prod")
    # The app's environments get their deploy material from update.yml, not from here.
    assert of(program, GITHUB_ENVIRONMENT_VARIABLE, "matra-app") == []


def test_what_lives_in_an_environment_names_it_plainly_and_comes_after_it(program):
    environment_urns = {
        r.inputs["environment"]: r.urn for r in of(program, GITHUB_ENVIRONMENT, "matra-infra")
    }
    for r in [
        *of(program, GITHUB_ENVIRONMENT_SECRET, "matra-infra"),
        *of(program, GITHUB_ENVIRONMENT_VARIABLE, "matra-infra"),
        *of(program, GITHUB_ENVIRONMENT_POLICY, "matra-infra"),
    ]:
        # A plain name, known in a preview: the policy pack sees which secret sits where.
        assert isinstance(r.inputs["environment"], str)
        assert environment_urns[r.inputs["environment"]] in r.dependencies, r.name


def test_the_app_checks_this_repository_out_with_a_read_only_key(program):
    (key,) = program.of_type(GITHUB_DEPLOY_KEY)
    assert key.inputs["repository"] == "matra-infra"
    assert key.inputs["readOnly"] is True
    assert key.inputs["key"].startswith("ssh-ed25519 ")


def test_a_private_infra_repository_shares_its_workflows_with_the_organisation(program):
    (access,) = program.of_type(ACCESS_LEVEL)
    assert access.inputs == {"repository": "matra-infra", "accessLevel": "organization"}
    public = run_github(visibility="public")
    assert public.error is None, public.error
    assert public.of_type(ACCESS_LEVEL) == []


def test_the_drift_issues_label_exists_before_the_first_night(program):
    from drift_issue import LABEL

    (label,) = program.of_type("github:index/issueLabel:IssueLabel")
    assert label.inputs["repository"] == "matra-infra"
    # drift_issue.py finds a stack's open issue by it: without it, a new issue each night.
    assert label.inputs["name"] == LABEL


def test_every_resource_sits_in_a_repositorys_guardrails_or_is_the_deploy_key(program):
    parents = {r.name: r.parent.rsplit("::", 1)[-1] for r in program.registrations if r.custom}
    at_the_top = {name for name, parent in parents.items() if parent == "matra-github-org"}
    # The deploy key (its tls key pair and the key GitHub holds), the workflows' access and
    # the drift issues' label.
    assert at_the_top == {"infra-deploy-key", "infra-workflow-access", "infra-drift-label"}
    for name, parent in parents.items():
        if name not in at_the_top:
            assert parent == name.split("-", 1)[0], f"{name} sits under {parent}"


def test_pulumi_yaml_declares_exactly_the_settings_the_program_reads():
    import yaml

    from harness import GITHUB
    from matra_github.workflows import backend_settings, secret_settings

    declared = set(yaml.safe_load((GITHUB / "Pulumi.yaml").read_text())["config"])
    fixed = {
        "infraRepository",
        "appRepository",
        "appRequiredChecks",
        "requiredApprovals",
        "productionReviewers",
        "previewReviewers",
        "unreviewedPreviews",
        "sshRunner",
        "appImage",
        "deployMaterialAppClientId",
    }
    assert declared == fixed | set(backend_settings()) | set(secret_settings())
