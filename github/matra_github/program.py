"""matra-github: read the settings, look the repositories and reviewers up, and give each
repository its guardrails; this repository also gets a read-only deploy key whose
private half the app repository's deploy workflow checks it out with."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_github as github
import pulumi_tls as tls

from .guardrails import RepositoryGuardrails, RepositoryGuardrailsArgs, ReviewerIds
from .settings import GithubSettings, Reviewer, load
from .workflows import (
    APP_SECRETS,
    BACKEND_URL_VARIABLE,
    DEPLOY_KEY_SECRET,
    ENVIRONMENTS,
    INFRA_SECRETS,
    SSH_RUNNER_VARIABLE,
    infra_required_checks,
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
    reviewers = reviewer_ids(settings.production_reviewers)
    variables: dict[str, pulumi.Input[str]] = {
        BACKEND_URL_VARIABLE: settings.backend_url,
        SSH_RUNNER_VARIABLE: settings.ssh_runner,
    }

    # The app repository's deploy workflow checks this repository out (the deploy command
    # and the stack files live here) with a key that can read this repository alone.
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

    def guardrails(
        name: str,
        repository: github.GetRepositoryResult,
        required_checks: Sequence[str],
        secrets: Mapping[str, pulumi.Input[str]],
    ) -> None:
        """A repository's guardrails; both take the same approvals, reviewers and variables."""
        RepositoryGuardrails(
            name,
            RepositoryGuardrailsArgs(
                repository=repository.name,
                default_branch=repository.default_branch,
                required_checks=required_checks,
                required_approvals=settings.required_approvals,
                production_reviewers=reviewers,
                secrets=secrets,
                variables=variables,
            ),
        )

    infra_checks = infra_required_checks()
    guardrails(
        "infra",
        infra,
        infra_checks,
        {name: settings.secrets[key] for name, key in INFRA_SECRETS.items()},
    )
    app_secrets: dict[str, pulumi.Input[str]] = {
        name: settings.secrets[key] for name, key in APP_SECRETS.items()
    }
    app_secrets[DEPLOY_KEY_SECRET] = deploy_key.private_key_openssh
    guardrails("app", app, settings.app_required_checks, app_secrets)

    pulumi.export("infraRequiredChecks", list(infra_checks))
    pulumi.export("appRequiredChecks", list(settings.app_required_checks))
    pulumi.export("environments", list(ENVIRONMENTS))
    pulumi.export("productionReviewers", [str(r) for r in settings.production_reviewers])
    pulumi.export("infraSecrets", sorted(INFRA_SECRETS))
    pulumi.export("appSecrets", sorted(app_secrets))
    pulumi.export("variables", sorted(variables))
