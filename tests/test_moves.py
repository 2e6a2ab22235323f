"""Moving resources between components changes nothing in a running stack: every
resource main registered before the components took their children (47412ba,
tests/data/registrations-47412ba.json, recorded with tests/registrations.py) is still
registered, under its URN or an alias the engine follows, as the same type; no cloud
resource is new; and none but a host command (re-run in place on a change: an update,
never a replacement) has other inputs. The real engine checks the same against state
built with that commit's program (tests/test_engine_moves.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import Resource, run_program
from registrations import SCRIPTS, STACKS, digest

BASELINE = json.loads((Path(__file__).parent / "data/registrations-47412ba.json").read_text())
COMMAND = "command:remote:Command"
"""Re-runnable: a changed script (``SCRIPTS``) updates the command, which runs again."""


def make_urn(like: str, parent: str, type_: str, name: str) -> str:
    """A URN as the engine makes it (the parent's type chain, then the type), in the
    stack and project of ``like``."""
    stack_project = like.split("::")[0:2]
    qualified = parent.split("::")[2] if parent else ""
    if qualified and qualified != "pulumi:pulumi:Stack":
        type_ = f"{qualified}${type_}"
    return "::".join([*stack_project, type_, name])


def answers_to(resource: Resource, by_urn: dict[str, Resource]) -> Iterator[str]:
    """Every URN the engine takes as this resource's: its own, its aliases', and, as a
    child of an aliased parent, its own name under each of the parent's."""
    yield resource.urn
    parents = list(answers_to(by_urn[resource.parent], by_urn)) if resource.parent in by_urn else []
    for parent in parents[1:]:
        yield make_urn(resource.urn, parent, resource.type, resource.name)
    for alias in resource.aliases:
        if "urn" in alias:
            yield alias["urn"]
            continue
        spec = alias["spec"]
        type_, name = spec.get("type", resource.type), spec.get("name", resource.name)
        if spec.get("noParent") or spec.get("parentUrn") == "":
            yield make_urn(resource.urn, "", type_, name)
        else:
            for parent in [spec["parentUrn"]] if "parentUrn" in spec else parents:
                yield make_urn(resource.urn, parent, type_, name)


@pytest.fixture(scope="module", params=STACKS)
def moved(request) -> tuple[str, dict[str, Resource]]:
    """A stack's program today: each URN of the baseline, to the resource that has it."""
    run = run_program(request.param)
    assert run.error is None, run.error
    by_urn = {r.urn: r for r in run.registrations}
    answered: dict[str, Resource] = {}
    for resource in run.registrations:
        for urn in answers_to(resource, by_urn):
            assert answered.setdefault(urn, resource) is resource, f"{urn}: two resources"
    return request.param, answered


def test_every_resource_of_the_baseline_is_still_registered_as_what_it_was(moved):
    stack, answered = moved
    gone = [r["urn"] for r in BASELINE[stack] if r["urn"] not in answered]
    assert not gone, f"{stack}: deleted by the move: {gone}"
    retyped = [r["urn"] for r in BASELINE[stack] if answered[r["urn"]].type != r["type"]]
    assert not retyped, f"{stack}: another type (a replacement): {retyped}"


def test_no_cloud_resource_is_new_and_none_has_other_inputs_but_a_host_commands_script(moved):
    stack, answered = moved
    known = {answered[r["urn"]].urn for r in BASELINE[stack]}
    new = sorted({r.urn for r in answered.values() if r.urn not in known and r.custom})
    assert not new, f"{stack}: created by the move: {new}"
    changed = [
        r["urn"]
        for r in BASELINE[stack]
        if r["custom"] and digest(answered[r["urn"]].inputs) != r["inputs"] and r["type"] != COMMAND
    ]
    assert not changed, f"{stack}: other inputs (an update or a replacement): {changed}"
    # A command's script may change (it runs again in place); its connection and its
    # triggers may not (another host, or a replacement).
    retargeted = [
        r["urn"]
        for r in BASELINE[stack]
        if r["type"] == COMMAND
        and digest({k: v for k, v in answered[r["urn"]].inputs.items() if k not in SCRIPTS})
        != r["inputs_but_scripts"]
    ]
    assert not retargeted, f"{stack}: a command's connection or triggers changed: {retargeted}"


def test_the_check_sees_a_move_without_an_alias():
    """What the two tests above would say of a droplet moved without its alias."""
    run = run_program("dev")
    by_urn = {r.urn: r for r in run.registrations}
    droplet = next(r for r in run.registrations if r.name == "api-0" and r.custom)
    assert droplet.aliases, "the droplet moved under its ApiHost with an alias"
    bare = Resource(**{**droplet.__dict__, "aliases": []})
    before = make_urn(droplet.urn, droplet.aliases[0]["spec"]["parentUrn"], droplet.type, "api-0")
    assert before in {r["urn"] for r in BASELINE["dev"]}
    assert before in set(answers_to(droplet, by_urn))
    assert before not in set(answers_to(bare, by_urn))
