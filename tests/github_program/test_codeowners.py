"""CODEOWNERS: a change to the policy pack, the workflows or github/ needs a code owner's
review (main's ruleset requires it), and the owners are production's reviewers. Matched as
GitHub matches it: the last pattern that matches a path decides its owners."""

from __future__ import annotations

import fnmatch
import subprocess

import pytest
import yaml

from harness import GITHUB, ROOT

CODEOWNERS = ROOT / ".github" / "CODEOWNERS"
OWNED = ("policies/", ".github/", "github/")


def rules(text: str) -> list[tuple[str, list[str]]]:
    found = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            pattern, *owners = line.split()
            found.append((pattern, owners))
    return found


def matches(pattern: str, path: str) -> bool:
    """GitHub's CODEOWNERS patterns, as far as this file uses them: /dir/ (anchored,
    everything below), dir/ (anywhere), and globs on the whole path."""
    anchored = pattern.startswith("/")
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        return path.startswith(pattern) if anchored else f"/{pattern}" in f"/{path}"
    return fnmatch.fnmatch(path, pattern)


def owners(text: str, path: str) -> list[str]:
    found: list[str] = []
    for pattern, names in rules(text):
        if matches(pattern, path):
            found = names
    return found


def tracked() -> list[str]:
    done = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def check(text: str) -> None:
    reviewers = yaml.safe_load((GITHUB / "Pulumi.org.yaml").read_text())["config"][
        "matra-github:productionReviewers"
    ]
    for path in [p for p in tracked() if p.startswith(OWNED)] + [".github/CODEOWNERS"]:
        found = owners(text, path)
        assert found, f"{path} has no code owner"
        assert set(found) <= set(reviewers), (
            f"{path} is owned by {found}, not production's reviewers {reviewers}"
        )


def test_the_pack_the_workflows_and_github_are_code_owned_by_productions_reviewers():
    check(CODEOWNERS.read_text())


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("/policies/  @matra-io/platform\n", "", "policies/PulumiPolicy.yaml has no code owner"),
        (
            "/github/    @matra-io/platform\n",
            "/github/    @matra-io/platform\n/github/*.yaml\n",
            "github/Pulumi.org.yaml has no code owner",
        ),
        (
            "/.github/   @matra-io/platform",
            "/.github/   @someone-else",
            "is owned by ['@someone-else']",
        ),
    ],
    ids=["unowned", "a-later-rule-unowns", "another-owner"],
)
def test_the_check_fails_on_a_broken_copy(old, new, words):
    text = CODEOWNERS.read_text()
    assert old in text
    with pytest.raises(AssertionError, match=words.replace("[", r"\[").replace("]", r"\]")):
        check(text.replace(old, new))
