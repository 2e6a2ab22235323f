"""Every shipped stack through the real engine: `pulumi preview` of a new stack with the
policy pack and the stack's policy config, as `make preview` and the pull-request job run
it. It must pass with no mandatory violation and no error, and declare every output the
deploy command reads."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format

from engine import Preview, Workspace
from harness import STACKS, Resource
from matra_policies import POLICIES
from policy_harness import (
    PolicyHarness,
    analyze_request,
    load_config,
    stack_resource,
    stack_resources,
)

pytestmark = pytest.mark.engine

DEPLOY_READS = ("project", "stack", "appImage", "deployUser", "sshKnownHosts", "deployTargets")
"""The outputs deploy/outputs.py parses (deploySshPrivateKey too, when the stack made the
deploy key: a secret)."""

_PREVIEWS: dict[str, Preview] = {}


@pytest.fixture
def preview(request, tmp_path_factory) -> Preview:
    stack = request.param
    if stack not in _PREVIEWS:
        workspace = Workspace(tmp_path_factory.mktemp(f"engine-{stack}"))
        _PREVIEWS[stack] = workspace.preview(stack, record=True)
    return _PREVIEWS[stack]


@pytest.mark.parametrize("preview", STACKS, indirect=True)
def test_shipped_stack_previews_clean_with_the_pack(preview):
    assert preview.ok, preview.explain()
    assert preview.mandatory == []
    assert preview.errors == []
    assert len(preview.steps) > 20
    assert {step["op"] for step in preview.steps.values()} == {"create"}


@pytest.mark.parametrize("preview", STACKS, indirect=True)
def test_the_outputs_the_deploy_command_reads_are_declared(preview):
    outputs = preview.outputs
    missing = [key for key in DEPLOY_READS if key not in outputs]
    assert missing == [], f"outputs the deploy command reads are missing: {missing}"
    if "deploySshPrivateKey" in outputs:
        assert "4dabf18193072939515e22adb298388d" in outputs["deploySshPrivateKey"]


# The emulated analyzer path (policy_harness, which the fast tier runs) against the real
# engine, for every resource of every shipped stack.


def _emulated(stack: str) -> list[Resource]:
    return stack_resources(stack, engine_preview=True)


def _differences(ours: Any, theirs: Any, path: str = "", *, more: bool = False) -> list[str]:
    """Where the emulation's wire-form value differs from the engine's. With ``more``, the
    engine's may hold keys ours lacks (at any depth), and a list may come back reordered
    (a provider keeps some lists as sets)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found = []
        for key in sorted(set(ours) | set(theirs)):
            where = f"{path}.{key}"
            if key not in theirs:
                found.append(f"{where}: the engine sends no {key} ({ours[key]!r})")
            elif key not in ours:
                if not more:
                    found.append(f"{where}: the emulation sends no {key} ({theirs[key]!r})")
            else:
                found += _differences(ours[key], theirs[key], where, more=more)
        return found
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        if more:  # each of ours somewhere in theirs
            return [
                f"{path}: the engine sends no {item!r}"
                for item in ours
                if all(_differences(item, candidate, more=True) for candidate in theirs)
            ]
        return [
            difference
            for index, (mine, engines) in enumerate(zip(ours, theirs, strict=True))
            for difference in _differences(mine, engines, f"{path}[{index}]")
        ]
    return [] if ours == theirs else [f"{path}: emulation {ours!r}, engine {theirs!r}"]


def _named(urn: str, differences: list[str]) -> list[str]:
    return [f"{urn.rpartition('::')[2]}{difference}" for difference in differences]


@pytest.mark.parametrize("preview", STACKS, indirect=True)
def test_each_resource_rule_is_sent_what_the_engine_sends(preview):
    engine = {
        r["request"]["urn"]: r["request"] for r in preview.analyzer if r["method"] == "Analyze"
    }
    emulated = {
        r.urn: json_format.MessageToDict(analyze_request(r)) for r in _emulated(preview.stack)
    }
    assert sorted(emulated) == sorted(engine), "\n".join(
        [
            *(f"only the emulation: {v}" for v in sorted(set(emulated) - set(engine))),
            *(f"only the engine: {v}" for v in sorted(set(engine) - set(emulated))),
        ]
    )
    assert [
        d for urn in engine for d in _named(urn, _differences(emulated[urn], engine[urn]))
    ] == []


@pytest.mark.parametrize("preview", STACKS, indirect=True)
def test_the_stack_rules_are_sent_what_the_engine_sends_them(preview):
    """The engine gives the stack rules each resource's planned state, which may hold more
    than the emulation sends (the computed outputs and defaults the rules never read)."""
    (request,) = [r["request"] for r in preview.analyzer if r["method"] == "AnalyzeStack"]
    engine = {r["urn"]: r for r in request["resources"]}
    emulated = {
        r.urn: json_format.MessageToDict(stack_resource(r)) for r in _emulated(preview.stack)
    }
    assert sorted(emulated) == sorted(engine), "\n".join(
        [
            *(f"only the emulation: {v}" for v in sorted(set(emulated) - set(engine))),
            *(f"only the engine: {v}" for v in sorted(set(engine) - set(emulated))),
        ]
    )
    found = []
    for urn, theirs in engine.items():
        ours = dict(emulated[urn])
        ours_props, their_props = ours.pop("properties", {}), theirs.get("properties", {})
        found += _named(urn, _differences(ours_props, their_props, more=True))
        found += _named(urn, _differences(ours, _without(theirs, "properties"), more=True))
    assert not found, "\n".join(found)


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


def _reported(policy: str, level: str, urn: str, message: str) -> str:
    return f"{policy}: {level}: {urn.rpartition('::')[2]}: {message.strip().splitlines()[-1]}"


@pytest.mark.parametrize("preview", STACKS, indirect=True)
def test_the_emulation_reports_what_the_engine_reports(preview):
    """Every violation, advisory and mandatory, and every rule that could not run."""
    harness = PolicyHarness(POLICIES, load_config(preview.stack))
    emulated = [
        _reported(v.policy, v.level, v.urn, v.message)
        for v in harness.run(_emulated(preview.stack))
    ]
    engine = [
        _reported(e["policyName"], e["enforcementLevel"], e.get("resourceUrn", ""), e["message"])
        for e in preview.policy_events
    ]
    assert sorted(emulated) == sorted(engine), "\n".join(
        [
            *(f"only the emulation: {v}" for v in sorted(set(emulated) - set(engine))),
            *(f"only the engine: {v}" for v in sorted(set(engine) - set(emulated))),
        ]
    )
