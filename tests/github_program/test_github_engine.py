"""The github/ program on the real engine (tests/engine.py): `pulumi preview` of the org
stack, as an operator runs it, with the policy pack in the real analyzer, the github
provider's own Check on every resource, before any organisation sees them. The provider
and the program's lookups (the organisation, the repositories, the reviewers) reach a
stand-in for GitHub's API on loopback (github_api.py) through GITHUB_BASE_URL; no token
is set. (Issue 21, item 6.)"""

from __future__ import annotations

import time

import pytest
import yaml

from engine import Preview, Workspace
from github_api import GitHubApi
from github_harness import SECRETS
from harness import GITHUB

pytestmark = pytest.mark.engine


def org_preview(
    tmp_path, overrides: dict[str, object] | None = None, patch: tuple[str, str] | None = None
) -> tuple[Preview, list[str], float]:
    """The org stack's preview in a copy of the checkout: its Pulumi.org.yaml changed by
    ``overrides`` (short keys), its program by ``patch`` (old, new); with every secret
    setting set, as the bootstrap says."""
    ws = Workspace(tmp_path, project=GITHUB)
    stack_file = ws.dir / "Pulumi.org.yaml"
    data = yaml.safe_load(stack_file.read_text())
    data["config"].update({f"matra-github:{k}": v for k, v in (overrides or {}).items()})
    stack_file.write_text(yaml.safe_dump(data))
    if patch:
        settings = ws.dir / "matra_github" / "settings.py"
        text = settings.read_text()
        assert patch[0] in text
        settings.write_text(text.replace(*patch))
    ws.stack("org")
    # Stand-ins, not secrets: on the command line, in one call.
    ws.run(
        "config",
        "set-all",
        "--stack",
        "org",
        *(f"--secret=matra-github:{k}={v}" for k, v in SECRETS.items()),
    )
    with GitHubApi("matra-io", {"matra-infra": "private", "matra-app": "private"}) as api:
        ws.env["GITHUB_BASE_URL"] = api.url
        started = time.monotonic()
        preview = ws.preview("org")
        seconds = time.monotonic() - started
    return preview, api.requests, seconds


def test_the_org_stack_previews_clean_on_the_real_engine_with_the_pack(tmp_path):
    preview, requests, seconds = org_preview(tmp_path)
    assert preview.ok, preview.explain()
    assert preview.mandatory == [] and preview.errors == []
    created = {
        urn.rsplit("::", 2)[-2].rsplit(":", 1)[-1]
        for urn, op in ((u, s["op"]) for u, s in preview.steps.items())
        if op == "create"
    }
    assert {
        "RepositoryRuleset",
        "RepositoryEnvironment",
        "RepositoryEnvironmentDeploymentPolicy",
        "ActionsEnvironmentSecret",
        "ActionsEnvironmentVariable",
        "WorkflowRepositoryPermissions",
        "ActionsRepositoryPermissions",
        "RepositoryDeployKey",
    } <= created
    # What the engine asked GitHub for: the provider's organisation, the program's lookups.
    assert "/api/v3/orgs/matra-io" in requests
    assert {"/api/v3/repos/matra-io/matra-infra", "/api/v3/repos/matra-io/matra-app"} <= set(
        requests
    )
    assert "/api/v3/orgs/matra-io/teams/platform" in requests
    print(f"real-engine preview of the org stack: {seconds:.1f} s, {len(preview.steps)} steps")


def test_the_providers_check_stands_behind_the_settings(tmp_path):
    """Were the settings' own limit on reviewers (GitHub takes six) loosened, the provider's
    Check would still stop the preview, naming the resource and the limit: here the copy's
    settings take up to ten and the stack names seven preview reviewers. (Their lookups go
    to the stand-in too: getUser also reads a user's GPG keys.)"""
    preview, requests, _ = org_preview(
        tmp_path,
        {"previewReviewers": [f"@user{i}" for i in range(7)]},
        patch=("MAX_REVIEWERS = 6\n", "MAX_REVIEWERS = 10\n"),
    )
    assert not preview.ok
    (error,) = [e for e in preview.errors if "Too many list items" in e]
    assert "resource 'infra-preview-prod'" in error
    assert "supports 6 item maximum, but config has 7" in error
    assert "/api/v3/users/user0/gpg_keys" in requests
