"""The github/ program on the real engine (tests/engine.py): `pulumi preview` of the org
stack, as an operator runs it, with the policy pack in the real analyzer, the github
provider's own Check on every resource, before any organisation sees them. The provider
and the program's lookups (the organisation, the repositories, the reviewers) reach a
stand-in for GitHub's API on loopback (github_api.py) through GITHUB_BASE_URL; no token
is set. The emulated analyzer path the fast tier runs (policy_harness) is held to what the
engine sends the pack for this stack too. (Issue 21, item 6.)"""

from __future__ import annotations

import re
import time

import pytest
import yaml
from github_api import GitHubApi
from google.protobuf import json_format

from engine import Preview, Workspace
from github_harness import SECRETS, run_github
from harness import GITHUB
from matra_policies import POLICIES
from policy_harness import PolicyHarness, analyze_request, engine_view, stack_resource
from test_engine_stacks import _differences, _named, _reported, _without

pytestmark = pytest.mark.engine


def org_preview(
    tmp_path,
    overrides: dict[str, object] | None = None,
    patch: tuple[str, str] | None = None,
    record: bool = False,
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
        preview = ws.preview("org", record=record)
        seconds = time.monotonic() - started
    return preview, api.requests, seconds


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Preview, list[str], float]:
    return org_preview(tmp_path_factory.mktemp("org"), record=True)


def test_the_org_stack_previews_clean_on_the_real_engine_with_the_pack(recorded):
    preview, requests, seconds = recorded
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
        "IssueLabel",
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
    # Whichever of the two reviewed previews the engine checks first.
    (error,) = [e for e in preview.errors if "Too many list items" in e]
    assert re.search(r"resource 'infra-preview-(staging|prod)'", error), error
    assert "supports 6 item maximum, but config has 7" in error
    assert "/api/v3/users/user0/gpg_keys" in requests


def test_the_emulation_sends_the_pack_what_the_engine_sends_for_the_org_stack(recorded):
    """Each resource rule's request, the stack rules' planned state (the github provider
    plans no reviewers as [] and an empty set of users as null; its default provider is
    configured with github:owner) and the violations, as the engine has them."""
    preview, _, _ = recorded
    emulated = engine_view(run_github(engine_preview=True))
    engine = {
        r["request"]["urn"]: r["request"] for r in preview.analyzer if r["method"] == "Analyze"
    }
    ours = {r.urn: json_format.MessageToDict(analyze_request(r)) for r in emulated}
    assert sorted(ours) == sorted(engine)
    assert [d for urn in engine for d in _named(urn, _differences(ours[urn], engine[urn]))] == []
    (request,) = [r["request"] for r in preview.analyzer if r["method"] == "AnalyzeStack"]
    planned = {r.urn: json_format.MessageToDict(stack_resource(r)) for r in emulated}
    found = []
    for resource in request["resources"]:
        mine = dict(planned[resource["urn"]])
        found += _named(
            resource["urn"],
            _differences(mine.pop("properties", {}), resource.get("properties", {}), more=True),
        )
        found += _named(
            resource["urn"], _differences(mine, _without(resource, "properties"), more=True)
        )
    assert found == []
    violations = [
        _reported(v.policy, v.level, v.urn, v.message)
        for v in PolicyHarness(POLICIES).run(emulated)
    ]
    reported = [
        _reported(e["policyName"], e["enforcementLevel"], e.get("resourceUrn", ""), e["message"])
        for e in preview.policy_events
    ]
    assert sorted(violations) == sorted(reported)
