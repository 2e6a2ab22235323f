"""The github/ program on the real engine (tests/real_engine.py): `pulumi preview` of the
org stack, as an operator runs it, with the policy pack in the real analyzer, the github
provider's own Check on every resource (review counts 0-6, the ruleset's blocks, the
environments' reviewers), before any organisation sees them. The provider and the
program's lookups (the organisation, the repositories, the reviewers) reach a stand-in
for GitHub's API on loopback (github_api.py) through GITHUB_BASE_URL; no token is set."""

from __future__ import annotations

import time

import pytest
import yaml

from github_api import GitHubApi
from github_harness import SECRETS
from preview_report import read_events
from real_engine import workspace

pytestmark = pytest.mark.engine


def org_preview(
    tmp_path, overrides: dict[str, object] | None = None, patch: tuple[str, str] | None = None
):
    """The org stack's preview in a copy of the checkout: its Pulumi.org.yaml changed by
    ``overrides`` (short keys), its program by ``patch`` (old, new)."""
    ws = workspace(tmp_path)
    stack_file = ws.root / "github" / "Pulumi.org.yaml"
    data = yaml.safe_load(stack_file.read_text())
    data["config"].update({f"matra-github:{k}": v for k, v in (overrides or {}).items()})
    stack_file.write_text(yaml.safe_dump(data))
    if patch:
        settings = ws.root / "github" / "matra_github" / "settings.py"
        text = settings.read_text()
        assert patch[0] in text
        settings.write_text(text.replace(*patch))
    ws.pulumi("stack", "init", "org", "--non-interactive", cwd="github")
    secrets = [f"--secret=matra-github:{key}={value}" for key, value in SECRETS.items()]
    ws.pulumi("config", "set-all", "--stack", "org", *secrets, cwd="github")
    with GitHubApi("matra-io", {"matra-infra": "private", "matra-app": "private"}) as api:
        started = time.monotonic()
        done = ws.pulumi(
            "preview",
            "--stack",
            "org",
            "--non-interactive",
            "--json",
            "--policy-pack",
            "../policies",
            cwd="github",
            check=False,
            extra={"GITHUB_BASE_URL": api.url},
        )
        seconds = time.monotonic() - started
    report = read_events("org", done.returncode, done.stdout.splitlines(), done.stderr.splitlines())
    return done, report, api.requests, seconds


def test_the_org_stack_previews_clean_on_the_real_engine_with_the_pack(tmp_path):
    done, report, requests, seconds = org_preview(tmp_path)
    assert done.returncode == 0, (report.errors, done.stderr[-2000:])
    assert report.result == "succeeded"
    assert [v for v in report.violations if v.level == "mandatory"] == []
    assert report.errors == []
    created = {c.type.rsplit(":", 1)[-1] for c in report.changes if c.op == "create"}
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
    print(f"real-engine preview of the org stack: {seconds:.1f} s, {len(report.changes)} resources")


def test_the_providers_check_stands_behind_the_settings(tmp_path):
    """Were the settings' own limit on reviewers (GitHub takes six) loosened, the provider's
    Check would still stop the preview, naming the resource and the limit: here the copy's
    settings take up to ten and the stack names seven preview reviewers. (Their lookups go
    to the stand-in too: getUser also reads a user's GPG keys.)"""
    done, report, requests, _ = org_preview(
        tmp_path,
        {"previewReviewers": [f"@user{i}" for i in range(7)]},
        patch=("MAX_REVIEWERS = 6\n", "MAX_REVIEWERS = 10\n"),
    )
    assert done.returncode != 0
    (error,) = [e for e in report.errors if "Too many list items" in e]
    assert (
        "resource 'infra-preview-prod'" in error
        and "supports 6 item maximum, but config has 7" in error
    )
    assert "/api/v3/users/user0/gpg_keys" in requests
