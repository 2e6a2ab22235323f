"""RepositoryGuardrails: one repository's protected default branch, its staging and
production environments, and the Actions secrets and variables its workflows read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_github as github

from .workflows import ENVIRONMENTS, PRODUCTION


@dataclass(frozen=True)
class ReviewerIds:
    """Production's required reviewers as GitHub's numeric ids (what the API takes)."""

    users: Sequence[int] = ()
    teams: Sequence[int] = ()


@dataclass(frozen=True)
class RepositoryGuardrailsArgs:
    repository: str
    """The repository's name (without the owner)."""
    default_branch: str
    required_checks: Sequence[str]
    """The status checks a pull request must pass: exact check names, no wildcards."""
    required_approvals: int
    production_reviewers: ReviewerIds
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Actions secret name -> its value (a Pulumi secret)."""
    variables: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Actions variable name -> its value."""


class RepositoryGuardrails(pulumi.ComponentResource):
    branch_protection_id: pulumi.Output[str]
    """The default branch's protection rule."""

    def __init__(
        self, name: str, args: RepositoryGuardrailsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:RepositoryGuardrails", name, None, opts)
        if not args.required_checks:
            raise ValueError(f"{name}: a protected branch needs at least one required check")
        if not (args.production_reviewers.users or args.production_reviewers.teams):
            raise ValueError(f"{name}: production needs at least one required reviewer")
        child = pulumi.ResourceOptions(parent=self)

        # Merges only by pull request, reviewed and green; for administrators too; the
        # branch can be neither rewritten nor deleted.
        protection = github.BranchProtection(
            f"{name}-default-branch",
            repository_id=args.repository,
            pattern=args.default_branch,
            enforce_admins=True,
            allows_force_pushes=False,
            allows_deletions=False,
            required_pull_request_reviews=[
                github.BranchProtectionRequiredPullRequestReviewArgs(
                    required_approving_review_count=args.required_approvals,
                    dismiss_stale_reviews=True,
                )
            ],
            required_status_checks=[
                github.BranchProtectionRequiredStatusCheckArgs(
                    strict=True, contexts=list(args.required_checks)
                )
            ],
            opts=child,
        )

        # Both environments take deployments only from protected branches (the default
        # branch); production also waits for one of its reviewers, admins included.
        for environment in ENVIRONMENTS:
            production = environment == PRODUCTION
            reviewers = args.production_reviewers
            github.RepositoryEnvironment(
                f"{name}-{environment}",
                repository=args.repository,
                environment=environment,
                can_admins_bypass=not production,
                deployment_branch_policy=github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                    protected_branches=True, custom_branch_policies=False
                ),
                reviewers=[
                    github.RepositoryEnvironmentReviewerArgs(
                        users=list(reviewers.users), teams=list(reviewers.teams)
                    )
                ]
                if production
                else None,
                opts=child,
            )

        for secret_name, value in sorted(args.secrets.items()):
            github.ActionsSecret(
                f"{name}-secret-{secret_name}",
                repository=args.repository,
                secret_name=secret_name,
                value=pulumi.Output.secret(value),
                opts=child,
            )
        for variable_name, value in sorted(args.variables.items()):
            github.ActionsVariable(
                f"{name}-variable-{variable_name}",
                repository=args.repository,
                variable_name=variable_name,
                value=value,
                opts=child,
            )

        self.branch_protection_id = protection.id
        self.register_outputs({"branch_protection_id": self.branch_protection_id})
