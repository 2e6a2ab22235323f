"""The GitHub rules (policies/matra_policies/github.py), each with passing and failing
cases; and the github/ program's shipped stack passes the whole pack, also as a preview
with every computed value unknown."""

import pytest

from github_harness import run_github
from matra_policies import POLICIES
from matra_policies.github import (
    actions_least_privilege,
    branch_environment_reviewed,
    no_bypass,
    no_repository_secrets,
    production_reviewers,
    repository_protected,
    reviews_and_checks,
)
from matra_policies.types import (
    GITHUB_ACTIONS_PERMISSIONS,
    GITHUB_ACTIONS_SECRET,
    GITHUB_BRANCH_PROTECTION,
    GITHUB_DEPLOY_KEY,
    GITHUB_ENVIRONMENT,
    GITHUB_ENVIRONMENT_SECRET,
    GITHUB_RULESET,
    GITHUB_WORKFLOW_PERMISSIONS,
)
from policy_harness import (
    PolicyHarness,
    Resource,
    assert_no_violations,
    assert_violation,
    refuses_each,
    secret,
)

GOOD_RULES = {
    "deletion": True,
    "nonFastForward": True,
    "pullRequest": {
        "requiredApprovingReviewCount": 1,
        "dismissStaleReviewsOnPush": True,
        "requireCodeOwnerReview": True,
        "requireLastPushApproval": True,
    },
    "requiredStatusChecks": {
        "requiredChecks": [
            {"context": "test", "integrationId": 15368},
            {"context": "previews", "integrationId": 15368},
        ],
        "strictRequiredStatusChecksPolicy": True,
    },
}


def ruleset(rules=None, **changes):
    props = {
        "repository": "matra-infra",
        "target": "branch",
        "enforcement": "active",
        "conditions": {"refName": {"includes": ["~DEFAULT_BRANCH"], "excludes": []}},
        "rules": {**GOOD_RULES, **(rules or {})},
        **changes,
    }
    return Resource(GITHUB_RULESET, "infra-default-branch", props)


def pull_request(**changes):
    return {"pullRequest": {**GOOD_RULES["pullRequest"], **changes}}


GOOD_PROTECTION = {
    "repositoryId": "matra-infra",
    "pattern": "main",
    "enforceAdmins": True,
    "allowsForcePushes": False,
    "allowsDeletions": False,
    "requiredPullRequestReviews": [
        {"requiredApprovingReviewCount": 1, "dismissStaleReviews": True}
    ],
    "requiredStatusChecks": [{"strict": True, "contexts": ["test", "previews"]}],
}


def protection(**changes):
    return Resource(
        GITHUB_BRANCH_PROTECTION, "infra-default-branch", {**GOOD_PROTECTION, **changes}
    )


def environment(name="production", **changes):
    props = {
        "repository": "matra-infra",
        "environment": name,
        "reviewers": [{"users": [], "teams": [4242]}],
        "preventSelfReview": True,
        "canAdminsBypass": False,
        "deploymentBranchPolicy": {"protectedBranches": False, "customBranchPolicies": True},
        **changes,
    }
    return Resource(GITHUB_ENVIRONMENT, f"infra-{name}", props)


def environment_secret(environment_name, name="PULUMI_CONFIG_PASSPHRASE"):
    return Resource(
        GITHUB_ENVIRONMENT_SECRET,
        f"infra-{environment_name}-secret-{name}",
        {
            "repository": "matra-infra",
            "environment": environment_name,
            "secretName": name,
            "value": secret("v"),
        },
    )


class TestReviewsAndChecks:
    def test_a_ruleset_of_reviewed_green_pull_requests_passes(self):
        assert_no_violations(reviews_and_checks, ruleset())

    def test_a_ruleset_that_does_not_guard_the_default_branch_is_refused(self):
        for changes in (
            {"enforcement": "evaluate"},
            {"conditions": {"refName": {"includes": ["refs/heads/release"]}}},
        ):
            assert_violation(
                reviews_and_checks, ruleset(**changes), contains="does not guard the default branch"
            )

    def test_no_review_is_refused(self):
        assert_violation(
            reviews_and_checks,
            ruleset(rules={"pullRequest": None}),
            contains="takes changes without a reviewed pull request",
        )

    def test_too_few_approvals_are_refused_and_the_minimum_is_configurable(self):
        assert_violation(
            reviews_and_checks,
            ruleset(rules=pull_request(requiredApprovingReviewCount=0)),
            contains="needs 0 approving reviews, fewer than 1",
        )
        assert_violation(
            reviews_and_checks,
            ruleset(),
            contains="needs 1 approving reviews, fewer than 2",
            config={"minApprovals": 2},
        )

    test_each_weakened_review_is_refused = refuses_each(
        reviews_and_checks,
        lambda **changes: ruleset(rules=pull_request(**changes)),
        [
            ({"dismissStaleReviewsOnPush": False}, "keeps an approval after new commits"),
            ({"requireCodeOwnerReview": False}, "without a code owner's review"),
            ({"requireLastPushApproval": False}, "lets the last pusher's own approval count"),
        ],
    )

    def test_no_required_check_is_refused(self):
        assert_violation(
            reviews_and_checks,
            ruleset(rules={"requiredStatusChecks": {"requiredChecks": []}}),
            contains="requires no status checks",
        )

    def test_a_check_any_commit_status_can_pass_is_refused(self):
        checks = {
            "requiredChecks": [{"context": "test", "integrationId": 15368}, {"context": "previews"}]
        }
        violation = assert_violation(
            reviews_and_checks,
            ruleset(rules={"requiredStatusChecks": checks}),
            contains="requires the checks previews by name alone",
        )
        assert "integrationId is GitHub Actions' (15368)" in violation.message

    def test_a_branch_protection_rule_can_only_name_its_checks(self):
        # Its contexts take no app: a commit status of the same name passes them.
        assert_violation(
            reviews_and_checks,
            protection(),
            contains="requires the checks test, previews by name alone",
        )
        assert_violation(
            reviews_and_checks,
            protection(requiredPullRequestReviews=[]),
            contains="takes changes without a reviewed pull request",
        )


class TestNoBypass:
    def test_a_locked_down_ruleset_passes(self):
        assert_no_violations(no_bypass, ruleset())

    test_each_bypass_is_refused = refuses_each(
        no_bypass,
        lambda rules=None, **changes: ruleset(rules=rules, **changes),
        [
            ({"rules": {**GOOD_RULES, "nonFastForward": False}}, "allows force pushes"),
            ({"rules": {**GOOD_RULES, "deletion": False}}, "allows the branch to be deleted"),
            (
                {
                    "bypassActors": [
                        {"actorType": "RepositoryRole", "actorId": 5, "bypassMode": "always"}
                    ]
                },
                "lets RepositoryRole 5 bypass it",
            ),
        ],
    )

    test_a_branch_protection_rules_bypasses_are_refused_too = refuses_each(
        no_bypass,
        protection,
        [
            ({"allowsForcePushes": True}, "allows force pushes"),
            ({"allowsDeletions": True}, "allows the branch to be deleted"),
            ({"enforceAdmins": False}, "lets administrators merge"),
        ],
    )


class TestRepositoryProtected:
    def configured(self, repository):
        return [
            Resource(
                GITHUB_ENVIRONMENT_SECRET,
                f"{repository}-secret",
                {
                    "repository": repository,
                    "environment": "staging",
                    "secretName": "X",
                    "value": secret("v"),
                },
            ),
            Resource(
                GITHUB_DEPLOY_KEY, f"{repository}-key", {"repository": repository, "key": "k"}
            ),
            environment(repository=repository),
        ]

    def test_a_protected_repository_passes(self):
        assert_no_violations(repository_protected, [ruleset(), *self.configured("matra-infra")])
        assert_no_violations(repository_protected, [protection(), *self.configured("matra-infra")])

    def test_an_unprotected_repository_is_named_once(self):
        violation = assert_violation(
            repository_protected,
            [ruleset(), *self.configured("matra-infra"), *self.configured("matra-app")],
            contains="configures the repository matra-app, whose default branch is not protected",
        )
        assert violation.mandatory
        found = PolicyHarness([repository_protected]).run(
            [ruleset(), *self.configured("matra-app")]
        )
        assert len(found) == 1

    def test_a_ruleset_in_evaluate_mode_protects_nothing(self):
        assert_violation(
            repository_protected,
            [ruleset(enforcement="evaluate"), *self.configured("matra-infra")],
            contains="configures the repository matra-infra, whose default branch is not protected",
        )


class TestProductionReviewers:
    def test_a_reviewed_production_passes(self):
        assert_no_violations(production_reviewers, environment())
        assert_no_violations(
            production_reviewers,
            environment(
                deploymentBranchPolicy={"protectedBranches": True, "customBranchPolicies": False}
            ),
        )

    @pytest.mark.parametrize(
        "reviewers", [None, [], [{"users": [], "teams": []}]], ids=["unset", "none", "empty"]
    )
    def test_no_reviewer_is_refused(self, reviewers):
        assert_violation(
            production_reviewers,
            environment(reviewers=reviewers),
            contains="lets a deployment to production start without a reviewer's approval",
        )

    test_each_gap_is_refused = refuses_each(
        production_reviewers,
        environment,
        [
            ({"preventSelfReview": False}, "lets whoever started a run in production approve it"),
            ({"canAdminsBypass": True}, "lets administrators skip production's reviewers"),
            ({"deploymentBranchPolicy": None}, "takes deployments to production from any branch"),
        ],
    )

    def test_staging_needs_no_reviewer(self):
        assert_no_violations(production_reviewers, environment("staging", reviewers=[]))


class TestNoRepositorySecrets:
    def repository_secret(self, name):
        return Resource(
            GITHUB_ACTIONS_SECRET,
            f"infra-secret-{name}",
            {"repository": "matra-infra", "secretName": name, "value": secret("v")},
        )

    def test_a_repository_level_secret_is_refused_by_name(self):
        violation = assert_violation(
            no_repository_secrets,
            self.repository_secret("DIGITALOCEAN_TOKEN"),
            contains="puts the secret DIGITALOCEAN_TOKEN at repository level",
        )
        assert violation.mandatory
        # The rule's description, then the one line naming the secret (as the CLI shows it).
        _, line = violation.message.splitlines()
        assert line.startswith(
            "github.ActionsSecret 'infra-secret-DIGITALOCEAN_TOKEN': puts the secret"
        )

    def test_one_the_stack_allows_passes(self):
        assert_no_violations(
            no_repository_secrets,
            self.repository_secret("SLACK_NOTIFY_URL"),
            config={"allowedSecrets": ["SLACK_NOTIFY_URL"]},
        )

    def test_an_environment_secret_is_not_a_repository_secret(self):
        assert_no_violations(no_repository_secrets, environment_secret("production"))


class TestBranchEnvironmentReviewed:
    def test_a_reviewed_preview_environment_passes(self):
        preview = environment("preview-prod", deploymentBranchPolicy=None)
        assert_no_violations(
            branch_environment_reviewed, [preview, environment_secret("preview-prod")]
        )

    def test_an_unreviewed_one_that_any_branch_may_read_is_refused_naming_its_secrets(self):
        preview = environment("preview-prod", deploymentBranchPolicy=None, reviewers=[])
        violation = assert_violation(
            branch_environment_reviewed,
            [
                preview,
                environment_secret("preview-prod"),
                environment_secret("preview-prod", "DIGITALOCEAN_TOKEN"),
            ],
            contains="lets any branch's workflow (a pull request's) read DIGITALOCEAN_TOKEN, "
            "PULUMI_CONFIG_PASSPHRASE in preview-prod without the approval",
        )
        assert violation.mandatory

    def test_a_reviewer_who_may_approve_their_own_run_is_no_reviewer(self):
        preview = environment("preview-prod", deploymentBranchPolicy=None, preventSelfReview=False)
        assert_violation(
            branch_environment_reviewed,
            [preview, environment_secret("preview-prod")],
            contains="in preview-prod without the approval of a reviewer other than the run's "
            "initiator",
        )

    def test_the_allowed_ones_the_default_branchs_and_empty_ones_pass(self):
        dev = environment("preview-dev", deploymentBranchPolicy=None, reviewers=[])
        assert_no_violations(branch_environment_reviewed, [dev, environment_secret("preview-dev")])
        staging = environment("staging", reviewers=[])
        assert_no_violations(branch_environment_reviewed, [staging, environment_secret("staging")])
        empty = environment("scratch", deploymentBranchPolicy=None, reviewers=[])
        assert_no_violations(branch_environment_reviewed, [empty])


class TestActionsLeastPrivilege:
    def workflow(self, **changes):
        props = {
            "repository": "matra-infra",
            "defaultWorkflowPermissions": "read",
            "canApprovePullRequestReviews": False,
            **changes,
        }
        return Resource(GITHUB_WORKFLOW_PERMISSIONS, "infra-workflow-permissions", props)

    def actions(self, **changes):
        props = {
            "repository": "matra-infra",
            "enabled": True,
            "allowedActions": "all",
            "shaPinningRequired": True,
            **changes,
        }
        return Resource(GITHUB_ACTIONS_PERMISSIONS, "infra-actions-permissions", props)

    def test_read_only_tokens_and_pinned_actions_pass(self):
        assert_no_violations(actions_least_privilege, self.workflow())
        assert_no_violations(actions_least_privilege, self.actions())

    @pytest.mark.parametrize(
        ("resource", "words"),
        [
            (
                lambda t: t.workflow(defaultWorkflowPermissions="write"),
                "gives every workflow's token write access",
            ),
            (
                lambda t: t.workflow(canApprovePullRequestReviews=True),
                "lets a workflow approve pull requests",
            ),
            (
                lambda t: t.actions(shaPinningRequired=False),
                "named by a tag or branch, which can move",
            ),
        ],
        ids=["write-token", "approving-token", "unpinned"],
    )
    def test_each_loosening_is_refused(self, resource, words):
        assert_violation(actions_least_privilege, resource(self), contains=words)


def test_every_github_rule_is_mandatory_by_default():
    from matra_policies.github import POLICIES as GITHUB_POLICIES

    assert {p.enforcement_level.value for p in GITHUB_POLICIES} == {"mandatory"}


@pytest.mark.parametrize("engine_preview", [False, True], ids=["update", "preview"])
def test_the_shipped_org_stack_passes_the_whole_pack(engine_preview):
    program = run_github(engine_preview=engine_preview)
    assert program.error is None, program.error
    found = PolicyHarness(POLICIES).run(program.registrations)
    assert [v for v in found if v.mandatory] == []
    assert not [v for v in found if "can't run policy" in v.message]
