"""The GitHub rules (policies/matra_policies/github.py), each with passing and failing
cases; and the github/ program's shipped stack passes the whole pack, also as a preview
with every computed value unknown."""

import pytest

from github_harness import run_github
from matra_policies import POLICIES
from matra_policies.github import (
    no_bypass,
    production_reviewers,
    repository_protected,
    reviews_and_checks,
)
from matra_policies.types import (
    GITHUB_ACTIONS_SECRET,
    GITHUB_BRANCH_PROTECTION,
    GITHUB_DEPLOY_KEY,
    GITHUB_ENVIRONMENT,
)
from policy_harness import PolicyHarness, Resource, assert_no_violations, assert_violation, secret

GOOD_PROTECTION = {
    "repositoryId": "matra-infra",
    "pattern": "main",
    "enforceAdmins": True,
    "allowsForcePushes": False,
    "allowsDeletions": False,
    "requiredPullRequestReviews": [
        {"requiredApprovingReviewCount": 1, "dismissStaleReviews": True}
    ],
    "requiredStatusChecks": [{"strict": True, "contexts": ["test", "preview (prod)"]}],
}


def protection(**changes):
    return Resource(
        GITHUB_BRANCH_PROTECTION, "infra-default-branch", {**GOOD_PROTECTION, **changes}
    )


def production(**changes):
    props = {
        "repository": "matra-infra",
        "environment": "production",
        "reviewers": [{"users": [], "teams": [4242]}],
        "deploymentBranchPolicy": {"protectedBranches": True, "customBranchPolicies": False},
        **changes,
    }
    return Resource(GITHUB_ENVIRONMENT, "infra-production", props)


class TestReviewsAndChecks:
    def test_a_reviewed_green_branch_passes(self):
        assert_no_violations(reviews_and_checks, protection())

    def test_no_review_is_refused(self):
        assert_violation(
            reviews_and_checks,
            protection(requiredPullRequestReviews=[]),
            contains="takes changes without a reviewed pull request",
        )

    def test_zero_approvals_are_refused(self):
        assert_violation(
            reviews_and_checks,
            protection(
                requiredPullRequestReviews=[
                    {"requiredApprovingReviewCount": 0, "dismissStaleReviews": True}
                ]
            ),
            contains="needs 0 approving reviews, fewer than 1",
        )

    def test_the_minimum_is_configurable(self):
        assert_violation(
            reviews_and_checks,
            protection(),
            contains="needs 1 approving reviews, fewer than 2",
            config={"minApprovals": 2},
        )

    def test_stale_approvals_must_go(self):
        assert_violation(
            reviews_and_checks,
            protection(requiredPullRequestReviews=[{"requiredApprovingReviewCount": 1}]),
            contains="keeps an approval after new commits",
        )

    @pytest.mark.parametrize("checks", [[], [{"strict": True, "contexts": []}]])
    def test_no_required_check_is_refused(self, checks):
        assert_violation(
            reviews_and_checks,
            protection(requiredStatusChecks=checks),
            contains="requires no status checks",
        )


class TestNoBypass:
    def test_a_locked_down_branch_passes(self):
        assert_no_violations(no_bypass, protection())

    @pytest.mark.parametrize(
        ("changes", "words"),
        [
            ({"allowsForcePushes": True}, "allows force pushes"),
            ({"allowsDeletions": True}, "allows the branch to be deleted"),
            ({"enforceAdmins": False}, "lets administrators merge"),
        ],
    )
    def test_each_bypass_is_refused(self, changes, words):
        assert_violation(no_bypass, protection(**changes), contains=words)


class TestRepositoryProtected:
    def configured(self, repository):
        return [
            Resource(
                GITHUB_ACTIONS_SECRET,
                f"{repository}-secret",
                {"repository": repository, "secretName": "X", "value": secret("v")},
            ),
            Resource(
                GITHUB_DEPLOY_KEY, f"{repository}-key", {"repository": repository, "key": "k"}
            ),
            production(repository=repository),
        ]

    def test_a_protected_repository_passes(self):
        assert_no_violations(repository_protected, [protection(), *self.configured("matra-infra")])

    def test_an_unprotected_repository_is_named_once(self):
        violation = assert_violation(
            repository_protected,
            [protection(), *self.configured("matra-infra"), *self.configured("matra-app")],
            contains="configures the repository matra-app, whose default branch is not protected",
        )
        assert violation.mandatory
        found = PolicyHarness([repository_protected]).run(
            [protection(), *self.configured("matra-app")]
        )
        assert len(found) == 1


class TestProductionReviewers:
    def test_a_reviewed_production_passes(self):
        assert_no_violations(production_reviewers, production())

    @pytest.mark.parametrize(
        "reviewers", [None, [], [{"users": [], "teams": []}]], ids=["unset", "none", "empty"]
    )
    def test_no_reviewer_is_refused(self, reviewers):
        assert_violation(
            production_reviewers,
            production(reviewers=reviewers),
            contains="lets a deployment to production start without a reviewer's approval",
        )

    def test_any_branch_is_refused(self):
        assert_violation(
            production_reviewers,
            production(deploymentBranchPolicy=None),
            contains="takes deployments to production from any branch",
        )

    def test_staging_needs_no_reviewer(self):
        assert_no_violations(production_reviewers, production(environment="staging", reviewers=[]))


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
