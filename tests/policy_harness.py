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
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi_policy import EnforcementLevel, Policy

from harness import ROOT, Resource, run_program
from matra_policies import PACK_NAME, POLICIES
from pulumi_private import UNKNOWN, analyzer_servicer, proto, secret_wire

__all__ = [
    "UNKNOWN",
    "PolicyHarness",
    "Resource",
    "Violation",
    "assert_no_violations",
    "assert_violation",
    "effective_config",
    "engine_config",
    "load_config",
    "secret",
]

PACK_VERSION = "0.0.0-test"
CONFIG_DIR = ROOT / "policies" / "config"
secret = secret_wire


def _described(resource: Resource) -> dict[str, Any]:
    """What both request kinds say of a resource: type, properties, urn, name, options."""
    properties = struct_pb2.Struct()
    properties.update(dict(resource.props))
    return dict(
        type=resource.type,
        properties=properties,
        urn=resource.urn,
        name=resource.name,
        options=proto.AnalyzerResourceOptions(protect=resource.protect, parent=resource.parent),
    )


def analyze_request(resource: Resource) -> proto.AnalyzeRequest:
    """The request for the resource rules (one resource)."""
    return proto.AnalyzeRequest(**_described(resource))


def stack_resource(resource: Resource) -> proto.AnalyzerResource:
    """One resource in the request for the stack rules, with its parent and dependencies."""
    return proto.AnalyzerResource(
        **_described(resource),
        parent=resource.parent,
        dependencies=list(resource.dependencies),
        propertyDependencies={
            key: proto.AnalyzerPropertyDependencies(urns=list(urns))
            for key, urns in resource.property_dependencies.items()
        },
    )


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
    """Every resource a shipped stack registers under mocks (see harness.run_program)."""
    program = run_program(stack, **program_args)
    assert program.error is None, program.error
    return program.registrations


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
            _ANSWERS[key] = self._violations(getattr(self._servicer, method)(request, None))
        return list(_ANSWERS[key])

    @staticmethod
    def _violations(response: proto.AnalyzeResponse) -> list[Violation]:
        return [
            Violation(
                policy=d.policyName,
                message=d.message,
                level=proto.EnforcementLevel.Name(d.enforcementLevel).lower(),
                urn=d.urn,
            )
            for d in response.diagnostics
        ]

    def analyze(self, resource: Resource) -> list[Violation]:
        """What the resource policies report for one resource."""
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


def assert_no_violations(
    policy: Policy,
    resources: Resource | Sequence[Resource],
    config: Mapping[str, Any] | None = None,
) -> None:
    """The policy reports nothing at all (not even an advisory)."""
    found = _check(policy, resources, config)
    assert not found, f"{policy.name}: expected no violations, got {[v.message for v in found]}"
