"""The repositories' guardrails (the github/ program): protected default branches that take
changes only through reviewed, green pull requests, which nobody rewrites or deletes,
and a production environment that waits for a reviewer."""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from .common import Parameter, flag, flag_unset, parameters, resource_rule, stack_rule, string_list
from .types import (
    GITHUB_ACTIONS_SECRET,
    GITHUB_ACTIONS_VARIABLE,
    GITHUB_BRANCH_PROTECTION,
    GITHUB_DEPLOY_KEY,
    GITHUB_ENVIRONMENT,
)

MIN_APPROVALS = Parameter("minApprovals", {"type": "integer", "minimum": 1}, 1)
REVIEWED_ENVIRONMENTS = string_list("environments", ["production"])


def _block(props: Any, key: str) -> dict[str, Any]:
    """The first (only) block of a list-of-one property (requiredStatusChecks, ...)."""
    blocks = props.get(key) or []
    return dict(blocks[0] or {}) if blocks else {}


@resource_rule(
    "github-branch-protection-reviews-and-checks",
    Severity.HIGH,
    config=parameters(MIN_APPROVALS),
    types=GITHUB_BRANCH_PROTECTION,
)
def reviews_and_checks(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A protected branch takes changes only through pull requests with approving reviews (stale
    approvals dismissed) and required status checks."""
    minimum = int(MIN_APPROVALS.value(args.get_config()))
    reviews = _block(args.props, "requiredPullRequestReviews")
    approvals = reviews.get("requiredApprovingReviewCount") or 0
    if not reviews:
        flag(
            report,
            args,
            "takes changes without a reviewed pull request",
            f"set requiredPullRequestReviews [{{requiredApprovingReviewCount: {minimum}}}]",
        )
    elif approvals < minimum:
        flag(
            report,
            args,
            f"needs {approvals:g} approving reviews, fewer than {minimum}",
            f"require at least {minimum} (matra-github:requiredApprovals)",
        )
    if reviews and not reviews.get("dismissStaleReviews"):
        flag(
            report,
            args,
            "keeps an approval after new commits are pushed",
            "set dismissStaleReviews: true",
        )
    contexts = _block(args.props, "requiredStatusChecks").get("contexts") or []
    if not contexts:
        flag(
            report,
            args,
            "requires no status checks, so a red pull request can be merged",
            "list the pull-request jobs in requiredStatusChecks[0].contexts "
            "(matra-github:appRequiredChecks for the app repository)",
        )


@resource_rule("github-branch-protection-no-bypass", Severity.HIGH, types=GITHUB_BRANCH_PROTECTION)
def no_bypass(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Nobody rewrites or deletes a protected branch, and administrators are held to it too."""
    if args.props.get("allowsForcePushes"):
        flag(report, args, "allows force pushes", "set allowsForcePushes: false")
    if args.props.get("allowsDeletions"):
        flag(report, args, "allows the branch to be deleted", "set allowsDeletions: false")
    flag_unset(
        report,
        args,
        "enforceAdmins",
        "lets administrators merge without the reviews and checks",
        "set enforceAdmins: true",
    )


@stack_rule("github-repository-branch-protected", Severity.HIGH)
def repository_protected(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every repository the stack configures (environments, Actions secrets and variables,
    deploy keys) has its default branch protected."""
    configured = (
        GITHUB_ENVIRONMENT,
        GITHUB_ACTIONS_SECRET,
        GITHUB_ACTIONS_VARIABLE,
        GITHUB_DEPLOY_KEY,
    )
    protected = {
        r.props.get("repositoryId")
        for r in args.resources
        if r.resource_type == GITHUB_BRANCH_PROTECTION
    }
    flagged = set()
    for resource in args.resources:
        repository = resource.props.get("repository")
        if resource.resource_type not in configured or repository in protected:
            continue
        if repository in flagged:
            continue
        flagged.add(repository)
        flag(
            report,
            resource,
            f"configures the repository {repository}, whose default branch is not protected",
            "add a github.BranchProtection for its default branch (repositoryId: "
            f"{repository}), as matra_github's RepositoryGuardrails does",
        )


@resource_rule(
    "github-production-environment-reviewers",
    Severity.HIGH,
    config=parameters(REVIEWED_ENVIRONMENTS),
    types=GITHUB_ENVIRONMENT,
)
def production_reviewers(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A production environment waits for one of its required reviewers and takes deployments
    from protected branches only."""
    name = args.props.get("environment")
    if name not in REVIEWED_ENVIRONMENTS.value(args.get_config()):
        return
    reviewers = [
        who
        for block in args.props.get("reviewers") or []
        for who in [*(block.get("users") or []), *(block.get("teams") or [])]
    ]
    if not reviewers:
        flag(
            report,
            args,
            f"lets a deployment to {name} start without a reviewer's approval",
            "set reviewers [{users: [...], teams: [...]}] (matra-github:productionReviewers)",
        )
    policy = args.props.get("deploymentBranchPolicy") or {}
    if not policy.get("protectedBranches"):
        flag(
            report,
            args,
            f"takes deployments to {name} from any branch",
            "set deploymentBranchPolicy {protectedBranches: true, customBranchPolicies: false}",
        )


POLICIES = [reviews_and_checks, no_bypass, repository_protected, production_reviewers]
