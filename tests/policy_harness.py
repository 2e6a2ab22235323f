"""Run the pack's rules the way the policy server runs them, with no CLI and no engine.

Each check is a real analyzer protobuf request handed to pulumi-policy's own servicer,
the object a PolicyPack serves over gRPC. So the rules see exactly what they see in
`pulumi preview --policy-pack`: properties pass through the server's deserializer and
its unknown-checking proxy, secrets arrive in the wire encoding and are unwrapped by the
server, and policy config arrives through ``Configure`` as the engine sends it (every
policy's level resolved from the config file, ``all`` or the policy's default, and its
schema defaults filled in).

    harness = PolicyHarness(POLICIES, config={"digitalocean-droplet-backups": "advisory"})
    harness.analyze(Resource(DROPLET, "api-0", {"sshKeys": []}))  # -> [Violation(...)]

    assert_violation(ssh_keys, Resource(DROPLET, "api-0", {}), contains="no SSH keys")
    assert_no_violations(ssh_keys, Resource(DROPLET, "api-0", {"sshKeys": ["1"]}))

What the rules are handed is what the real engine hands them, not what the program
registered: the engine analyzes a resource's inputs as its provider's Check returned them
(``checked``), adds the default providers and the stack itself to the stack request, and
gives the stack rules each resource's state (``engine_view``, ``stack_resource``). That
part is a model, measured against the real engine: tests/test_engine_emulation.py holds
it to what `pulumi preview` really sends, for every resource of every shipped stack.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from pulumi_policy import EnforcementLevel, Policy

from harness import ROOT, ProgramRun, Resource, run_program
from matra_policies import PACK_NAME, POLICIES
from matra_policies.types import GITHUB_ENVIRONMENT
from pulumi_private import UNKNOWN, analyzer_servicer, is_secret_wire, proto, secret_wire

__all__ = [
    "UNKNOWN",
    "PolicyHarness",
    "Resource",
    "Violation",
    "assert_cannot_run_yet",
    "assert_no_violations",
    "assert_violation",
    "effective_config",
    "engine_config",
    "load_config",
    "secret",
]

PACK_VERSION = "0.0.1"
"""What pulumi-policy serves as the version of a pack whose PulumiPolicy.yaml names none."""
CONFIG_DIR = ROOT / "policies" / "config"
secret = secret_wire


# What the providers' Check does to the inputs the analyzer sees (measured with the
# engine's plugins: pulumi-command v1.2.1, pulumi-digitalocean 4.76):
PROVIDER_DEFAULTS: dict[str, dict[str, Any]] = {
    "digitalocean:index/droplet:Droplet": {"resizeDisk": True},
    "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials": {
        "expirySeconds": 1576800000
    },
}
"""Defaults the bridged providers fill in where the program sets nothing."""
COMMAND = "command:remote:Command"
UNKNOWN_SECRET_COMMAND_INPUTS: dict[str, Any] = {
    "connection": {
        "user": "root",
        "host": "",
        "port": 22,
        "dialErrorLimit": 10,
        "perDialTimeout": 15,
    },
    "stdin": "",
}
"""pulumi-command's Check (pulumi-go-provider's decoder) hands back, for an input that is a
secret and unknown as a whole, its type's zero value with its defaults, still a secret: a
connection not known until the update (its private key is a secret) reaches the analyzer
as this, without host, hostKey or privateKey, never as an unknown value. (An unknown that
is not a secret stays unknown.)"""


def checked(resource: Resource) -> dict[str, Any]:
    """A resource's properties as its provider's Check returns them: what the engine
    analyzes (``resource.props`` is what the program registered)."""
    props = {**PROVIDER_DEFAULTS.get(resource.type, {}), **resource.props}
    if resource.type == COMMAND:
        for key, zero in UNKNOWN_SECRET_COMMAND_INPUTS.items():
            value = props.get(key)
            if is_secret_wire(value) and value["value"] == UNKNOWN:
                props[key] = secret(zero)
    return props


UNPLANNED_ID = frozenset({COMMAND, "mongodbatlas:index/advancedCluster:AdvancedCluster"})
"""Types whose planned state holds no id (pulumi-command's; the Atlas cluster, a
plugin-framework resource)."""


def _planned(value: Any) -> Any:
    """A value as a bridged provider plans it: a list with an unknown element is unknown
    as a whole."""
    if isinstance(value, list):
        items = [_planned(item) for item in value]
        return UNKNOWN if UNKNOWN in items else items
    if isinstance(value, dict):
        return {key: _planned(item) for key, item in value.items()}
    return value


def _urn(resource: Resource, type_: str, name: str) -> str:
    """The URN of a resource of ``type_`` named ``name`` in ``resource``'s stack, at the top."""
    stack, project = resource.urn.split("::")[:2]
    return f"{stack}::{project}::{type_}::{name}"


def _provider(resource: Resource, config: Mapping[str, str] | None = None) -> Resource | None:
    """The default provider the engine gives a custom resource of the program, configured
    with the stack's config of its package (github:owner)."""
    if not resource.custom or resource.type.startswith("pulumi:") or resource.provider:
        return None
    package = resource.type.split(":", 1)[0]
    name = f"default_{resource.version.replace('.', '_')}" if resource.version else "default"
    kind = f"pulumi:providers:{package}"
    props: dict[str, Any] = {
        key.split(":", 1)[1]: value
        for key, value in (config or {}).items()
        if key.startswith(f"{package}:")
    }
    if resource.version:
        props["version"] = resource.version
    return Resource(kind, name, props, urn=_urn(resource, kind, name))


def _options(resource: Resource) -> proto.AnalyzerResourceOptions:
    return proto.AnalyzerResourceOptions(
        protect=resource.protect,
        parent=resource.parent,
        ignoreChanges=resource.ignore_changes,
        deleteBeforeReplace=resource.delete_before_replace,
        deleteBeforeReplaceDefined=resource.delete_before_replace_defined,
        additionalSecretOutputs=resource.additional_secret_outputs,
        customTimeouts=proto.AnalyzerResourceOptions.CustomTimeouts(),
    )


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    properties = struct_pb2.Struct()
    properties.update(dict(props))
    return properties


def _described(resource: Resource, props: Mapping[str, Any]) -> dict[str, Any]:
    """What both request kinds say of a resource: type, properties, urn, name, options,
    the provider."""
    provider = _provider(resource, resource.provider_config)
    return dict(
        type=resource.type,
        properties=_struct(props),
        urn=resource.urn,
        name=resource.name,
        options=_options(resource),
        provider=proto.AnalyzerProviderResource(
            type=provider.type,
            properties=_struct(provider.props),
            urn=provider.urn,
            name=provider.name,
        )
        if provider
        else None,
    )


def analyze_request(resource: Resource) -> proto.AnalyzeRequest:
    """The request for the resource rules (one resource), as the engine sends it."""
    return proto.AnalyzeRequest(**_described(resource, checked(resource)))


def stack_state(resource: Resource) -> dict[str, Any]:
    """What the stack rules see of a resource: a component's registered outputs; a custom
    resource's checked inputs over its state (the mock provider's) and, from a bridged
    provider, as that plans it, with its id (unknown until it is created). The engine
    hands them the provider's planned state, which adds the computed outputs and defaults
    the rules never read."""
    if not resource.custom:
        return dict(resource.outputs)
    state = {**resource.outputs, **checked(resource)}
    if resource.type.startswith("pulumi:") or resource.type == COMMAND:
        return state
    planned = {key: _planned(value) for key, value in state.items()}
    if resource.type == GITHUB_ENVIRONMENT:
        # The github provider plans no reviewers as [], and a block's empty users or
        # teams (sets in its schema) as null.
        planned["reviewers"] = [
            {key: (None if ids == [] else ids) for key, ids in block.items()}
            for block in planned.get("reviewers") or []
        ]
    if resource.type not in UNPLANNED_ID:
        planned.setdefault("id", resource.id or UNKNOWN)
    return planned


def stack_resource(resource: Resource) -> proto.AnalyzerResource:
    """One resource in the request for the stack rules, with its parent and dependencies."""
    return proto.AnalyzerResource(
        **_described(resource, stack_state(resource)),
        parent=resource.parent,
        dependencies=list(resource.dependencies),
        propertyDependencies={
            key: proto.AnalyzerPropertyDependencies(urns=list(urns))
            for key, urns in resource.property_dependencies.items()
            if urns
        },
    )


def engine_view(program: ProgramRun) -> list[Resource]:
    """Every resource the engine analyzes for a program run: what the program registered,
    the default provider of each package it used, and the stack (with its outputs)."""
    resources = [replace(r, provider_config=program.config) for r in program.registrations]
    if not resources:
        return resources
    providers = {p.urn: p for p in filter(None, (_provider(r, program.config) for r in resources))}
    stack_part, project = resources[0].urn.split("::")[:2]
    stack = stack_part.removeprefix("urn:pulumi:")
    name = f"{project}-{stack}"
    root = Resource(
        "pulumi:pulumi:Stack",
        name,
        {},
        urn=_urn(resources[0], "pulumi:pulumi:Stack", name),
        custom=False,
        outputs=program.stack_outputs,
    )
    return [*resources, *providers.values(), root]


@dataclass(frozen=True)
class Violation:
    policy: str
    message: str
    level: str
    """mandatory, advisory, remediate or disabled"""
    urn: str

    @property
    def mandatory(self) -> bool:
        return self.level == "mandatory"


ConfigFile = Mapping[str, str | Mapping[str, Any]]


def load_config(stack: str) -> dict[str, Any]:
    """A shipped stack's policy config (policies/config/<stack>.json)."""
    return json.loads((CONFIG_DIR / f"{stack}.json").read_text())


def stack_resources(stack: str, **program_args: Any) -> list[Resource]:
    """Every resource the engine would analyze for a shipped stack run under mocks (see
    harness.run_program): the registrations, the default providers and the stack."""
    program = run_program(stack, **program_args)
    assert program.error is None, program.error
    return engine_view(program)


def mandatory(stack: str, resources: Sequence[Resource]) -> list[Violation]:
    """The mandatory violations the whole pack reports, with the stack's policy config."""
    found = PolicyHarness(POLICIES, load_config(stack)).run(resources)
    return [v for v in found if v.mandatory]


def effective_config(policies: Sequence[Policy], stack: str, policy: str) -> dict[str, Any]:
    """A policy's parameters and level as the engine configures it for a shipped stack:
    the stack's config file over the policy's own defaults."""
    request = engine_config(policies, load_config(stack))
    entry = request.policyConfig[policy]
    values = json_format.MessageToDict(entry.properties)
    values["enforcementLevel"] = proto.EnforcementLevel.Name(entry.enforcementLevel).lower()
    return values


def _level(value: str | EnforcementLevel | None) -> EnforcementLevel | None:
    if value is None or isinstance(value, EnforcementLevel):
        return value
    return EnforcementLevel(value)


def _proto_level(level: EnforcementLevel) -> int:
    return {
        EnforcementLevel.ADVISORY: proto.ADVISORY,
        EnforcementLevel.MANDATORY: proto.MANDATORY,
        EnforcementLevel.REMEDIATE: proto.REMEDIATE,
        EnforcementLevel.DISABLED: proto.DISABLED,
    }[level]


def engine_config(
    policies: Iterable[Policy],
    config: ConfigFile | None,
    pack_level: EnforcementLevel = EnforcementLevel.ADVISORY,
) -> proto.ConfigureAnalyzerRequest:
    """The Configure request the engine sends for a --policy-pack-config file."""
    config = dict(config or {})
    known = {p.name for p in policies} | {"all"}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"policy config names unknown policies: {', '.join(unknown)}")
    everything = _level(config.get("all"))  # type: ignore[arg-type]
    request = proto.ConfigureAnalyzerRequest()
    for policy in policies:
        entry = config.get(policy.name)
        explicit, properties = None, {}
        if isinstance(entry, str):
            explicit = _level(entry)
        elif entry is not None:
            properties = {k: v for k, v in entry.items() if k != "enforcementLevel"}
            explicit = _level(entry.get("enforcementLevel"))
        level = explicit or everything or policy.enforcement_level or pack_level
        schema = policy.config_schema.properties if policy.config_schema else {}
        values = {key: spec["default"] for key, spec in schema.items() if "default" in spec}
        values.update(properties)
        struct = struct_pb2.Struct()
        struct.update(values)
        request.policyConfig[policy.name].CopyFrom(
            proto.PolicyConfig(enforcementLevel=_proto_level(level), properties=struct)
        )
    return request


_ANSWERS: dict[tuple[Any, ...], list[Violation]] = {}
"""Every answer a servicer gave in this test process, by what it was configured with and
asked (see ``PolicyHarness._ask``)."""


class PolicyHarness:
    """pulumi-policy's servicer for a list of rules, configured like the engine does.

    The rules are pure functions of the request, so an identical request to a servicer
    configured identically (the same policy objects, the same Configure request) is
    answered from this process's record of the first answer. A whole-stack check of a
    stack with one resource broken asks the servicer about that resource alone."""

    def __init__(self, policies: Sequence[Policy], config: ConfigFile | None = None) -> None:
        self._servicer = analyzer_servicer(
            PACK_NAME, PACK_VERSION, policies, EnforcementLevel.ADVISORY
        )
        configure = engine_config(policies, config)
        self._servicer.Configure(configure, None)
        # The policy objects themselves (not their ids, which a collected object frees for
        # reuse) and the exact Configure request.
        self._setup = (tuple(policies), configure.SerializeToString(deterministic=True))

    def _ask(self, method: str, request: Any) -> list[Violation]:
        key = (*self._setup, method, request.SerializeToString(deterministic=True))
        if key not in _ANSWERS:
            urn = getattr(request, "urn", "")
            _ANSWERS[key] = self._violations(getattr(self._servicer, method)(request, None), urn)
        return list(_ANSWERS[key])

    @staticmethod
    def _violations(response: proto.AnalyzeResponse, urn: str = "") -> list[Violation]:
        return [
            Violation(
                policy=d.policyName,
                message=d.message,
                level=proto.EnforcementLevel.Name(d.enforcementLevel).lower(),
                urn=d.urn or urn,
            )
            for d in response.diagnostics
        ]

    def analyze(self, resource: Resource) -> list[Violation]:
        """What the resource policies report for one resource (the engine names the
        resource where a rule's report names none)."""
        return self._ask("Analyze", analyze_request(resource))

    def analyze_stack(self, resources: Sequence[Resource]) -> list[Violation]:
        """What the stack policies report for the whole set of resources."""
        request = proto.AnalyzeStackRequest(resources=[stack_resource(r) for r in resources])
        return self._ask("AnalyzeStack", request)

    def run(self, resources: Sequence[Resource]) -> list[Violation]:
        """Every violation a preview would report: per resource, then the stack rules."""
        found = [v for r in resources for v in self.analyze(r)]
        return found + self.analyze_stack(resources)


def _check(
    policy: Policy, resources: Resource | Sequence[Resource], config: Mapping[str, Any] | None
) -> list[Violation]:
    pack_config = {policy.name: dict(config)} if config else None
    harness = PolicyHarness([policy], pack_config)
    listed = [resources] if isinstance(resources, Resource) else list(resources)
    return [v for v in harness.run(listed) if v.policy == policy.name]


def assert_violation(
    policy: Policy,
    resources: Resource | Sequence[Resource],
    contains: str,
    config: Mapping[str, Any] | None = None,
) -> Violation:
    """The policy reports a violation whose message contains ``contains``."""
    found = _check(policy, resources, config)
    matching = [v for v in found if contains in v.message and "can't run policy" not in v.message]
    assert matching, (
        f"{policy.name}: expected a violation containing {contains!r}, got "
        f"{[v.message for v in found]}"
    )
    return matching[0]


def refuses_each(
    policy: Policy, build: Callable[..., Resource], cases: Sequence[tuple[dict[str, Any], str]]
) -> Callable[..., None]:
    """A test (for a test class) that ``policy`` refuses the resource ``build`` makes with
    each case's changes, in a violation containing its words: one parametrized test for a
    table of (changes, words)."""

    @pytest.mark.parametrize(("changes", "words"), cases)
    def test(self: object, changes: dict[str, Any], words: str) -> None:
        assert_violation(policy, build(**changes), contains=words)

    return test


def assert_no_violations(
    policy: Policy,
    resources: Resource | Sequence[Resource],
    config: Mapping[str, Any] | None = None,
) -> None:
    """The policy reports nothing at all (not even an advisory)."""
    found = _check(policy, resources, config)
    assert not found, f"{policy.name}: expected no violations, got {[v.message for v in found]}"


def assert_cannot_run_yet(
    policy: Policy, resources: Resource | Sequence[Resource], unknown_at: str
) -> Violation:
    """The policy can't judge the resources in a preview (a value it needs is unknown
    until the update, at ``unknown_at``) and says so, as an advisory only."""
    found = _check(policy, resources, None)
    assert [v.level for v in found] == ["advisory"], [v.message for v in found]
    assert "can't run policy" in found[0].message, found[0].message
    assert f"value at {unknown_at} can't be known during preview" in found[0].message
    return found[0]
