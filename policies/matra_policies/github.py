"""The repositories' guardrails (the github/ program): default branches that take changes
only through reviewed, green pull requests whose checks come from GitHub Actions, which
nobody rewrites, deletes or bypasses; workflow tokens that read and never approve;
no credential at repository level, where every workflow run (a pushed branch's too)
reads it; an environment a branch can run in holds secrets only behind a reviewer; a
production environment that waits for a reviewer who did not start the run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from .common import Parameter, flag, parameters, resource_rule, stack_rule, string_list
from .types import (
    GITHUB_ACTIONS_PERMISSIONS,
    GITHUB_ACTIONS_SECRET,
    GITHUB_ACTIONS_VARIABLE,
    GITHUB_BRANCH_PROTECTION,
    GITHUB_DEPLOY_KEY,
    GITHUB_ENVIRONMENT,
    GITHUB_ENVIRONMENT_SECRET,
    GITHUB_ENVIRONMENT_VARIABLE,
    GITHUB_RULESET,
    GITHUB_WORKFLOW_PERMISSIONS,
)

MIN_APPROVALS = Parameter("minApprovals", {"type": "integer", "minimum": 1}, 1)
REVIEWED_ENVIRONMENTS = string_list("environments", ["production"])
ALLOWED_SECRETS = string_list("allowedSecrets", [])
UNREVIEWED_ENVIRONMENTS = string_list("unreviewedEnvironments", ["preview-dev"])
DEFAULT_BRANCH = "~DEFAULT_BRANCH"
GITHUB_ACTIONS_APP_ID = 15368
"""GitHub Actions' integration id (what a required check is bound to)."""


def _block(props: Any, key: str) -> dict[str, Any]:
    """A nested block: an object, or the first (only) item of a list-of-one property
    (BranchProtection's requiredStatusChecks, ...)."""
    value = props.get(key)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return dict(value[0] or {}) if value else {}
    return dict(value or {})


def _guards_default_branch(props: Mapping[str, Any]) -> bool:
    """An active branch ruleset whose conditions include the default branch."""
    includes = _block(_block(props, "conditions"), "refName").get("includes") or []
    return (
        props.get("target") == "branch"
        and props.get("enforcement") == "active"
        and any(ref in (DEFAULT_BRANCH, "~ALL") for ref in includes)
    )


def _reviews(props: Mapping[str, Any], ruleset: bool) -> tuple[dict[str, Any], str, str]:
    """The pull-request block, with the names of its approvals and stale-dismissal keys."""
    if ruleset:
        block = _block(_block(props, "rules"), "pullRequest")
        return block, "requiredApprovingReviewCount", "dismissStaleReviewsOnPush"
    block = _block(props, "requiredPullRequestReviews")
    return block, "requiredApprovingReviewCount", "dismissStaleReviews"


@resource_rule(
    "github-branch-protection-reviews-and-checks",
    Severity.HIGH,
    config=parameters(MIN_APPROVALS),
    types=(GITHUB_BRANCH_PROTECTION, GITHUB_RULESET),
)
def reviews_and_checks(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A protected branch takes changes only through pull requests with approving reviews
    (stale approvals dismissed; for a ruleset, a code owner's and someone other than the
    last pusher's) and required status checks that GitHub Actions itself must report."""
    ruleset = args.resource_type == GITHUB_RULESET
    if ruleset and not _guards_default_branch(args.props):
        flag(
            report,
            args,
            "does not guard the default branch",
            "set target: branch, enforcement: active, conditions.refName.includes: "
            f"['{DEFAULT_BRANCH}']",
        )
    minimum = int(MIN_APPROVALS.value(args.get_config()))
    reviews, approvals_key, stale_key = _reviews(args.props, ruleset)
    approvals = reviews.get(approvals_key) or 0
    where = "rules.pullRequest" if ruleset else "requiredPullRequestReviews"
    if not reviews:
        flag(
            report,
            args,
            "takes changes without a reviewed pull request",
            f"set {where} {{{approvals_key}: {minimum}}}",
        )
    elif approvals < minimum:
        flag(
            report,
            args,
            f"needs {approvals:g} approving reviews, fewer than {minimum}",
            f"require at least {minimum} (matra-github:requiredApprovals)",
        )
    if reviews and not reviews.get(stale_key):
        flag(
            report,
            args,
            "keeps an approval after new commits are pushed",
            f"set {where}.{stale_key}: true",
        )
    if ruleset and reviews:
        if not reviews.get("requireCodeOwnerReview"):
            flag(
                report,
                args,
                "merges changes to code-owned paths (CODEOWNERS) without a code owner's review",
                "set rules.pullRequest.requireCodeOwnerReview: true",
            )
        if not reviews.get("requireLastPushApproval"):
            flag(
                report,
                args,
                "lets the last pusher's own approval count",
                "set rules.pullRequest.requireLastPushApproval: true",
            )
    if ruleset:
        checks = _block(_block(args.props, "rules"), "requiredStatusChecks").get("requiredChecks")
        contexts = [c.get("context") for c in checks or []]
        unbound = [c.get("context") for c in checks or [] if not c.get("integrationId")]
    else:
        contexts = _block(args.props, "requiredStatusChecks").get("contexts") or []
        unbound = list(contexts)
    if not contexts:
        flag(
            report,
            args,
            "requires no status checks, so a red pull request can be merged",
            "list the pull-request jobs as required checks "
            "(matra-github:appRequiredChecks for the app repository)",
        )
    elif unbound:
        flag(
            report,
            args,
            f"requires the checks {', '.join(map(str, unbound))} by name alone, so a commit "
            "status of the same name (anyone who can push can post one) satisfies them",
            "bind each to the app that reports it: a github.RepositoryRuleset whose "
            f"requiredChecks[].integrationId is GitHub Actions' ({GITHUB_ACTIONS_APP_ID})",
        )


@resource_rule(
    "github-branch-protection-no-bypass",
    Severity.HIGH,
    types=(GITHUB_BRANCH_PROTECTION, GITHUB_RULESET),
)
def no_bypass(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Nobody rewrites, deletes or bypasses a protected branch, administrators included."""
    if args.resource_type == GITHUB_RULESET:
        rules = _block(args.props, "rules")
        if not rules.get("nonFastForward"):
            flag(report, args, "allows force pushes", "set rules.nonFastForward: true")
        if not rules.get("deletion"):
            flag(report, args, "allows the branch to be deleted", "set rules.deletion: true")
        actors = [
            f"{a.get('actorType')} {int(a['actorId'])}"
            if isinstance(a.get("actorId"), (int, float))
            else str(a.get("actorType"))
            for a in args.props.get("bypassActors") or []
        ]
        if actors:
            flag(
                report,
                args,
                f"lets {', '.join(actors)} bypass it",
                "remove bypassActors (an emergency change goes through a pull request too)",
            )
        return
    if args.props.get("allowsForcePushes"):
        flag(report, args, "allows force pushes", "set allowsForcePushes: false")
    if args.props.get("allowsDeletions"):
        flag(report, args, "allows the branch to be deleted", "set allowsDeletions: false")
    if not args.props.get("enforceAdmins"):
        flag(
            report,
            args,
            "lets administrators merge without the reviews and checks",
            "set enforceAdmins: true",
        )


CONFIGURING = (
    GITHUB_ENVIRONMENT,
    GITHUB_ACTIONS_SECRET,
    GITHUB_ACTIONS_VARIABLE,
    GITHUB_ENVIRONMENT_SECRET,
    GITHUB_ENVIRONMENT_VARIABLE,
    GITHUB_DEPLOY_KEY,
)
"""What gives a repository's workflows something to protect."""


@stack_rule("github-repository-branch-protected", Severity.HIGH, types=CONFIGURING)
def repository_protected(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every repository the stack configures (environments, Actions secrets and variables,
    deploy keys) has its default branch protected (a branch protection rule, or an active
    ruleset on the default branch)."""
    protected = {
        r.props.get("repositoryId")
        for r in args.resources
        if r.resource_type == GITHUB_BRANCH_PROTECTION
    } | {
        r.props.get("repository")
        for r in args.resources
        if r.resource_type == GITHUB_RULESET and _guards_default_branch(r.props)
    }
    flagged = set()
    for resource in args.resources:
        repository = resource.props.get("repository")
        if resource.resource_type not in CONFIGURING or repository in protected:
            continue
        if repository in flagged:
            continue
        flagged.add(repository)
        flag(
            report,
            resource,
            f"configures the repository {repository}, whose default branch is not protected",
            "add a github.RepositoryRuleset on its default branch (repository: "
            f"{repository}), as matra_github's RepositoryGuardrails does",
        )


def _reviewers(props: Mapping[str, Any]) -> list[Any]:
    return [
        who
        for block in props.get("reviewers") or []
        for who in [*(block.get("users") or []), *(block.get("teams") or [])]
    ]


@resource_rule(
    "github-production-environment-reviewers",
    Severity.HIGH,
    config=parameters(REVIEWED_ENVIRONMENTS),
    types=GITHUB_ENVIRONMENT,
)
def production_reviewers(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A production environment waits for one of its required reviewers, never the run's
    own initiator, with no administrator bypass, and takes runs from chosen branches only
    (protected ones, or the patterns of its deployment policies)."""
    name = args.props.get("environment")
    if name not in REVIEWED_ENVIRONMENTS.value(args.get_config()):
        return
    if not _reviewers(args.props):
        flag(
            report,
            args,
            f"lets a deployment to {name} start without a reviewer's approval",
            "set reviewers [{users: [...], teams: [...]}] (matra-github:productionReviewers)",
        )
    if not args.props.get("preventSelfReview"):
        flag(
            report,
            args,
            f"lets whoever started a run in {name} approve it",
            "set preventSelfReview: true",
        )
    if args.props.get("canAdminsBypass") is not False:
        flag(
            report,
            args,
            f"lets administrators skip {name}'s reviewers",
            "set canAdminsBypass: false",
        )
    policy = args.props.get("deploymentBranchPolicy") or {}
    if not (policy.get("protectedBranches") or policy.get("customBranchPolicies")):
        flag(
            report,
            args,
            f"takes deployments to {name} from any branch",
            "set deploymentBranchPolicy {customBranchPolicies: true} with a "
            "RepositoryEnvironmentDeploymentPolicy for the default branch",
        )


@resource_rule(
    "github-no-repository-secrets",
    Severity.CRITICAL,
    config=parameters(ALLOWED_SECRETS),
    types=GITHUB_ACTIONS_SECRET,
)
def no_repository_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No credential is a repository-level Actions secret: every workflow run reads those,
    a pull request's from any pushed branch included. Each lives in the one environment
    whose jobs need it."""
    name = args.props.get("secretName")
    if name in ALLOWED_SECRETS.value(args.get_config()):
        return
    flag(
        report,
        args,
        f"puts the secret {name} at repository level, where every workflow run, a pushed "
        "branch's pull request included, can read it",
        "make it a github.ActionsEnvironmentSecret of the one environment whose jobs need "
        "it (matra_github/workflows.py), or list it in allowedSecrets if it can neither "
        "write nor decrypt anything",
    )


@stack_rule(
    "github-branch-environment-reviewed",
    Severity.CRITICAL,
    config=parameters(UNREVIEWED_ENVIRONMENTS),
    types=GITHUB_ENVIRONMENT,
)
def branch_environment_reviewed(args: StackValidationArgs, report: ReportViolation) -> None:
    """An environment that any branch may run in (a pull request's preview) holds secrets
    only behind a reviewer who did not start the run, unless it is listed in
    unreviewedEnvironments (a stack whose state nothing guards)."""
    unreviewed = set(UNREVIEWED_ENVIRONMENTS.value(args.get_config()))
    held: dict[tuple[Any, Any], list[str]] = {}
    for resource in args.resources:
        if resource.resource_type == GITHUB_ENVIRONMENT_SECRET:
            key = (resource.props.get("repository"), resource.props.get("environment"))
            held.setdefault(key, []).append(str(resource.props.get("secretName")))
    for resource in args.resources:
        if resource.resource_type != GITHUB_ENVIRONMENT:
            continue
        props = resource.props
        name = props.get("environment")
        secrets = sorted(held.get((props.get("repository"), name), []))
        policy = props.get("deploymentBranchPolicy") or {}
        any_branch = not (policy.get("protectedBranches") or policy.get("customBranchPolicies"))
        if not secrets or not any_branch or name in unreviewed:
            continue
        if not _reviewers(props) or not props.get("preventSelfReview"):
            flag(
                report,
                resource,
                f"lets any branch's workflow (a pull request's) read {', '.join(secrets)} "
                f"in {name} without the approval of a reviewer other than the run's initiator",
                "set reviewers and preventSelfReview: true (matra-github:previewReviewers), "
                "or restrict deploymentBranchPolicy to the default branch",
            )


@resource_rule(
    "github-actions-least-privilege",
    Severity.HIGH,
    types=(GITHUB_WORKFLOW_PERMISSIONS, GITHUB_ACTIONS_PERMISSIONS),
)
def actions_least_privilege(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A workflow's token reads unless the workflow asks for more and never approves a pull
    request; every action and reusable workflow is pinned to a commit."""
    if args.resource_type == GITHUB_WORKFLOW_PERMISSIONS:
        if args.props.get("defaultWorkflowPermissions") != "read":
            flag(
                report,
                args,
                "gives every workflow's token write access unless it asks for less",
                "set defaultWorkflowPermissions: read",
            )
        if args.props.get("canApprovePullRequestReviews"):
            flag(
                report,
                args,
                "lets a workflow approve pull requests (a pushed branch could approve itself)",
                "set canApprovePullRequestReviews: false",
            )
        return
    if not args.props.get("shaPinningRequired"):
        flag(
            report,
            args,
            "runs actions and reusable workflows named by a tag or branch, which can move",
            "set shaPinningRequired: true",
        )


POLICIES = [
    reviews_and_checks,
    no_bypass,
    repository_protected,
    production_reviewers,
    no_repository_secrets,
    branch_environment_reviewed,
    actions_least_privilege,
]
