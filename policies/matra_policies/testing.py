"""Run rules the way the policy server runs them, with no CLI and no engine.

Each check is a real analyzer protobuf request handed to pulumi-policy's own servicer,
the object a PolicyPack serves over gRPC. So the rules see exactly what they see in
`pulumi preview --policy-pack`: properties pass through the server's deserializer and
its unknown-checking proxy, secrets arrive in the wire encoding and are unwrapped by the
server, and policy config arrives through ``Configure`` as the engine sends it (every
policy's level resolved from the config file, ``all`` or the policy's default, and its
schema defaults filled in).

    harness = PolicyHarness(POLICIES, config={"all": "mandatory"})
    harness.analyze(Resource(DROPLET, "api-0", {"sshKeys": []}))  # -> [Violation(...)]

    assert_violation(ssh_keys, Resource(DROPLET, "api-0", {}), contains="no SSH keys")
    assert_no_violations(ssh_keys, Resource(DROPLET, "api-0", {"sshKeys": ["1"]}))
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.rpc import UNKNOWN, _special_secret_sig, _special_sig_key
from pulumi_policy import EnforcementLevel, Policy
from pulumi_policy.policy import _PolicyAnalyzerServicer

from . import PACK_NAME

__all__ = ["UNKNOWN", "PolicyHarness", "Resource", "Violation", "assert_no_violations",
           "assert_violation", "load_config", "secret"]

PACK_VERSION = "0.0.0-test"
CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


def secret(value: Any) -> dict[str, Any]:
    """A property value as the engine sends a secret."""
    return {_special_sig_key: _special_secret_sig, "value": value}


@dataclass
class Resource:
    """One resource as the engine describes it to a policy pack."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: Optional[str] = None
    protect: bool = False
    parent: Optional[str] = None
    dependencies: Sequence[str] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.urn is None:
            self.urn = f"urn:pulumi:test::matra-infra::{self.type}::{self.name}"

    def _options(self) -> proto.AnalyzerResourceOptions:
        return proto.AnalyzerResourceOptions(protect=self.protect, parent=self.parent or "")

    def _properties(self) -> struct_pb2.Struct:
        struct = struct_pb2.Struct()
        struct.update(dict(self.props))
        return struct

    def analyze_request(self) -> proto.AnalyzeRequest:
        return proto.AnalyzeRequest(type=self.type, properties=self._properties(),
                                    urn=self.urn, name=self.name, options=self._options())

    def stack_resource(self) -> proto.AnalyzerResource:
        return proto.AnalyzerResource(
            type=self.type, properties=self._properties(), urn=self.urn, name=self.name,
            options=self._options(), parent=self.parent or "",
            dependencies=list(self.dependencies),
            propertyDependencies={
                key: proto.AnalyzerPropertyDependencies(urns=list(urns))
                for key, urns in self.property_dependencies.items()})


@dataclass
class Violation:
    policy: str
    message: str
    level: str
    """mandatory, advisory, remediate or disabled"""
    urn: str

    @property
    def mandatory(self) -> bool:
        return self.level == "mandatory"


ConfigFile = Mapping[str, Union[str, Mapping[str, Any]]]


def load_config(stack: str) -> dict[str, Any]:
    """A shipped stack's policy config (policies/config/<stack>.json)."""
    return json.loads((CONFIG_DIR / f"{stack}.json").read_text())


def _level(value: Union[str, EnforcementLevel, None]) -> Optional[EnforcementLevel]:
    if value is None or isinstance(value, EnforcementLevel):
        return value
    return EnforcementLevel(value)


def _proto_level(level: EnforcementLevel) -> int:
    return {EnforcementLevel.ADVISORY: proto.ADVISORY,
            EnforcementLevel.MANDATORY: proto.MANDATORY,
            EnforcementLevel.REMEDIATE: proto.REMEDIATE,
            EnforcementLevel.DISABLED: proto.DISABLED}[level]


def engine_config(policies: Iterable[Policy], config: Optional[ConfigFile],
                  pack_level: EnforcementLevel = EnforcementLevel.MANDATORY
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
            proto.PolicyConfig(enforcementLevel=_proto_level(level), properties=struct))
    return request


class PolicyHarness:
    """pulumi-policy's servicer for a list of rules, configured like the engine does."""

    def __init__(self, policies: Sequence[Policy], config: Optional[ConfigFile] = None) -> None:
        self._servicer = _PolicyAnalyzerServicer(
            PACK_NAME, PACK_VERSION, list(policies), EnforcementLevel.MANDATORY)
        self._servicer.Configure(engine_config(policies, config), None)

    @staticmethod
    def _violations(response: proto.AnalyzeResponse) -> list[Violation]:
        return [Violation(policy=d.policyName, message=d.message,
                          level=proto.EnforcementLevel.Name(d.enforcementLevel).lower(),
                          urn=d.urn) for d in response.diagnostics]

    def analyze(self, resource: Resource) -> list[Violation]:
        """What the resource policies report for one resource."""
        return self._violations(self._servicer.Analyze(resource.analyze_request(), None))

    def analyze_stack(self, resources: Sequence[Resource]) -> list[Violation]:
        """What the stack policies report for the whole set of resources."""
        request = proto.AnalyzeStackRequest(resources=[r.stack_resource() for r in resources])
        return self._violations(self._servicer.AnalyzeStack(request, None))

    def run(self, resources: Sequence[Resource]) -> list[Violation]:
        """Every violation a preview would report: per resource, then the stack rules."""
        found = [v for r in resources for v in self.analyze(r)]
        return found + self.analyze_stack(resources)


def _check(policy: Policy, resources: Union[Resource, Sequence[Resource]],
           config: Optional[Mapping[str, Any]]) -> list[Violation]:
    pack_config = {policy.name: dict(config)} if config else None
    harness = PolicyHarness([policy], pack_config)
    listed = [resources] if isinstance(resources, Resource) else list(resources)
    return [v for v in harness.run(listed) if v.policy == policy.name]


def assert_violation(policy: Policy, resources: Union[Resource, Sequence[Resource]],
                     contains: str, config: Optional[Mapping[str, Any]] = None) -> Violation:
    """The policy reports a violation whose message contains ``contains``."""
    found = _check(policy, resources, config)
    matching = [v for v in found if contains in v.message and "can't run policy" not in
                v.message]
    assert matching, (f"{policy.name}: expected a violation containing {contains!r}, got "
                      f"{[v.message for v in found]}")
    return matching[0]


def assert_no_violations(policy: Policy, resources: Union[Resource, Sequence[Resource]],
                         config: Optional[Mapping[str, Any]] = None) -> None:
    """The policy reports nothing at all (not even an advisory)."""
    found = _check(policy, resources, config)
    assert not found, f"{policy.name}: expected no violations, got {[v.message for v in found]}"
