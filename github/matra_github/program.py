"""matra-github: read the settings, look the repositories and reviewers up, and give each
repository its guardrails (workflows.environments() says which environments, with which
credentials); this repository also gets a read-only deploy key whose private half the
app repository's deploy jobs check it out with."""

from __future__ import annotations

import pulumi
import pulumi_github as github
import pulumi_tls as tls

from .guardrails import EnvironmentArgs, RepositoryGuardrails, RepositoryGuardrailsArgs, ReviewerIds
from .settings import GithubSettings, Reviewer, load
from .workflows import (
    APP_CLIENT_ID_VARIABLE,
    APP_IMAGE_VARIABLE,
    APP_REPOSITORY_VARIABLE,
    BACKEND_URL_VARIABLE,
    DEPLOY_KEY_SECRET,
    DRIFT_LABEL,
    INFRA_REQUIRED_CHECKS,
    SSH_RUNNER_VARIABLE,
    EnvironmentSpec,
    environments,
)


def reviewer_ids(reviewers: tuple[Reviewer, ...]) -> ReviewerIds:
    """GitHub's numeric ids of the reviewers (environments take ids, not names)."""
    users = [int(github.get_user(username=r.login).id) for r in reviewers if not r.team]
    teams = [int(github.get_team(slug=r.login, summary_only=True).id) for r in reviewers if r.team]
    return ReviewerIds(users=users, teams=teams)


def main() -> None:
    # Everything is validated here, before the first lookup or resource.
    settings: GithubSettings = load()
    infra = github.get_repository(full_name=settings.infra.full_name)
    app = github.get_repository(full_name=settings.app.full_name)
    reviewers = {
        "production": reviewer_ids(settings.production_reviewers),
        "preview": reviewer_ids(settings.preview_reviewers),
    }

    # The app repository's deploy jobs check this repository out (the deploy command
    # lives here) with a key that can read this repository alone.
    deploy_key = tls.PrivateKey("infra-deploy-key", algorithm="ED25519")
    github.RepositoryDeployKey(
        "infra-deploy-key",
        repository=infra.name,
        title=f"{settings.app.full_name} deploy workflow (read-only)",
        key=deploy_key.public_key_openssh,
        read_only=True,
    )
    if infra.visibility != "public":
        # A private repository's reusable workflows are callable from the organisation's
        # other repositories only with this set.
        github.ActionsRepositoryAccessLevel(
            "infra-workflow-access", repository=infra.name, access_level="organization"
        )

    # drift.yml finds each stack's open drift issue by this label.
    github.IssueLabel(
        "infra-drift-label",
        repository=infra.name,
        name=DRIFT_LABEL,
        color="d93f0b",
        description="A stack differs from its Pulumi state (drift.yml opens and closes these)",
    )

    def variable_value(spec: EnvironmentSpec, name: str) -> str:
        values = {
            BACKEND_URL_VARIABLE: settings.backend_urls.get(spec.stack or "", ""),
            APP_REPOSITORY_VARIABLE: settings.app.full_name,
            APP_CLIENT_ID_VARIABLE: settings.deploy_material_app,
        }
        return values[name]

    def environment(spec: EnvironmentSpec) -> EnvironmentArgs:
        secrets: dict[str, pulumi.Input[str]] = {
            credential.secret: settings.secrets[credential.setting_for(spec.stack or "")]
            for credential in spec.credentials
        }
        if spec.deploy_key:
            secrets[DEPLOY_KEY_SECRET] = deploy_key.private_key_openssh
        return EnvironmentArgs(
            name=spec.name,
            any_branch=spec.any_branch,
            reviewers=reviewers[spec.reviewers] if spec.reviewers else None,
            secrets=secrets,
            variables={name: variable_value(spec, name) for name in spec.variables},
        )

    specs = environments(settings.stacks, settings.unreviewed_previews)
    RepositoryGuardrails(
        "infra",
        RepositoryGuardrailsArgs(
            repository=infra.name,
            default_branch=infra.default_branch,
            required_checks=INFRA_REQUIRED_CHECKS,
            required_approvals=settings.required_approvals,
            environments=[environment(s) for s in specs if s.repository == "infra"],
            variables={SSH_RUNNER_VARIABLE: settings.ssh_runner},
        ),
    )
    RepositoryGuardrails(
        "app",
        RepositoryGuardrailsArgs(
            repository=app.name,
            default_branch=app.default_branch,
            required_checks=settings.app_required_checks,
            required_approvals=settings.required_approvals,
            environments=[environment(s) for s in specs if s.repository == "app"],
            variables={
                SSH_RUNNER_VARIABLE: settings.ssh_runner,
                APP_IMAGE_VARIABLE: settings.app_image,
            },
        ),
    )

    pulumi.export("infraRequiredChecks", list(INFRA_REQUIRED_CHECKS))
    pulumi.export("appRequiredChecks", list(settings.app_required_checks))
    pulumi.export(
        "environments",
        {
            repository: {
                s.name: list(s.secret_names()) for s in specs if s.repository == repository
            }
            for repository in ("infra", "app")
        },
    )
    pulumi.export("productionReviewers", [str(r) for r in settings.production_reviewers])
    pulumi.export("previewReviewers", [str(r) for r in settings.preview_reviewers])
