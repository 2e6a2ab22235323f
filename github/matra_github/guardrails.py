"""RepositoryGuardrails: one repository's protected default branch (a ruleset), what its
workflows may do (read-only tokens that can't approve pull requests, actions pinned by
commit), its environments with their secrets and variables, and its repository-level
variables. There are no repository-level secrets: a pushed branch's workflow can read
every one of those."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_github as github

from .workflows import GITHUB_ACTIONS_APP_ID


@dataclass(frozen=True)
class ReviewerIds:
    """An environment's required reviewers as GitHub's numeric ids (what the API takes)."""

    users: Sequence[int] = ()
    teams: Sequence[int] = ()

    def __bool__(self) -> bool:
        return bool(self.users or self.teams)


@dataclass(frozen=True)
class EnvironmentArgs:
    name: str
    any_branch: bool
    """True: any branch may run in it (pull requests' previews); False: the default branch."""
    reviewers: ReviewerIds | None = None
    """Who approves each run: one of them, never the run's own initiator; None: no one."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    variables: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class RepositoryGuardrailsArgs:
    repository: str
    """The repository's name (without the owner)."""
    default_branch: str
    required_checks: Sequence[str]
    """The checks a pull request must pass: job names of this repository's workflows."""
    required_approvals: int
    environments: Sequence[EnvironmentArgs]
    variables: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Repository-level Actions variables (nothing secret)."""


class RepositoryGuardrails(pulumi.ComponentResource):
    ruleset_id: pulumi.Output[int]
    """The default branch's ruleset."""

    def __init__(
        self, name: str, args: RepositoryGuardrailsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:RepositoryGuardrails", name, None, opts)
        if not args.required_checks:
            raise ValueError(f"{name}: a protected branch needs at least one required check")
        child = pulumi.ResourceOptions(parent=self)

        # Merges only by pull request, approved by someone other than the last pusher,
        # code owners included, and green, the checks reported by GitHub Actions itself;
        # nobody bypasses it, and the branch can be neither rewritten nor deleted.
        ruleset = github.RepositoryRuleset(
            f"{name}-default-branch",
            name="default branch: reviewed, green pull requests only",
            repository=args.repository,
            target="branch",
            enforcement="active",
            conditions=github.RepositoryRulesetConditionsArgs(
                ref_name=github.RepositoryRulesetConditionsRefNameArgs(
                    includes=["~DEFAULT_BRANCH"], excludes=[]
                )
            ),
            rules=github.RepositoryRulesetRulesArgs(
                deletion=True,
                non_fast_forward=True,
                pull_request=github.RepositoryRulesetRulesPullRequestArgs(
                    required_approving_review_count=args.required_approvals,
                    dismiss_stale_reviews_on_push=True,
                    require_code_owner_review=True,
                    require_last_push_approval=True,
                    required_review_thread_resolution=False,
                ),
                required_status_checks=github.RepositoryRulesetRulesRequiredStatusChecksArgs(
                    required_checks=[
                        github.RepositoryRulesetRulesRequiredStatusChecksRequiredCheckArgs(
                            context=check, integration_id=GITHUB_ACTIONS_APP_ID
                        )
                        for check in args.required_checks
                    ],
                    strict_required_status_checks_policy=True,
                ),
            ),
            opts=child,
        )

        # The workflows' own token reads by default and can never approve a pull request;
        # every action and reusable workflow must be pinned to a commit.
        github.WorkflowRepositoryPermissions(
            f"{name}-workflow-permissions",
            repository=args.repository,
            default_workflow_permissions="read",
            can_approve_pull_request_reviews=False,
            opts=child,
        )
        github.ActionsRepositoryPermissions(
            f"{name}-actions-permissions",
            repository=args.repository,
            enabled=True,
            allowed_actions="all",
            sha_pinning_required=True,
            opts=child,
        )

        for environment in args.environments:
            self._environment(name, args, environment, child)

        for variable_name, value in sorted(args.variables.items()):
            github.ActionsVariable(
                f"{name}-variable-{variable_name}",
                repository=args.repository,
                variable_name=variable_name,
                value=value,
                opts=child,
            )

        self.ruleset_id = ruleset.ruleset_id
        self.register_outputs({"ruleset_id": self.ruleset_id})

    @staticmethod
    def _environment(
        name: str,
        args: RepositoryGuardrailsArgs,
        spec: EnvironmentArgs,
        child: pulumi.ResourceOptions,
    ) -> None:
        """One environment, its branch policy, its secrets and its variables."""
        reviewed = bool(spec.reviewers)
        reviewers = spec.reviewers or ReviewerIds()
        environment = github.RepositoryEnvironment(
            f"{name}-{spec.name}",
            repository=args.repository,
            environment=spec.name,
            can_admins_bypass=not reviewed,
            prevent_self_review=reviewed,
            reviewers=[
                github.RepositoryEnvironmentReviewerArgs(
                    users=list(reviewers.users), teams=list(reviewers.teams)
                )
            ]
            if reviewed
            else None,
            # The default branch by name, not "protected branches" (which a ruleset may
            # or may not count): the environment says which ref may run in it.
            deployment_branch_policy=None
            if spec.any_branch
            else github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                protected_branches=False, custom_branch_policies=True
            ),
            opts=child,
        )
        # What lives in the environment names it plainly (known in a preview, so the
        # policy pack sees which secrets sit where) and is created after it.
        inside = pulumi.ResourceOptions(parent=child.parent, depends_on=[environment])
        if not spec.any_branch:
            github.RepositoryEnvironmentDeploymentPolicy(
                f"{name}-{spec.name}-branch",
                repository=args.repository,
                environment=spec.name,
                branch_pattern=args.default_branch,
                opts=inside,
            )
        for secret_name, value in sorted(spec.secrets.items()):
            github.ActionsEnvironmentSecret(
                f"{name}-{spec.name}-secret-{secret_name}",
                repository=args.repository,
                environment=spec.name,
                secret_name=secret_name,
                value=pulumi.Output.secret(value),
                opts=inside,
            )
        for variable_name, value in sorted(spec.variables.items()):
            github.ActionsEnvironmentVariable(
                f"{name}-{spec.name}-variable-{variable_name}",
                repository=args.repository,
                environment=spec.name,
                variable_name=variable_name,
                value=value,
                opts=inside,
            )
