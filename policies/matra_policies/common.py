"""What the rules share: the baseline, port and CIDR helpers, messages."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

BASELINE = json.loads((Path(__file__).resolve().parent / "baseline.json").read_text())
"""What the program builds and the pack allows by default (shared with the program)."""
BASELINE_EGRESS_PORTS = sorted(
    {p["port"] for p in [*BASELINE["egress"], *BASELINE["apiEgress"]]}, key=int
)
BASELINE_END_OF_LIFE_IMAGES = sorted(BASELINE["endOfLifeImages"])
PRICES = json.loads(
    (Path(__file__).resolve().parent / "prices.json").read_text(), parse_float=Decimal
)
"""The price catalogue, with its sources (shared with the program's cost estimate)."""

WORLD = frozenset({"0.0.0.0/0", "::/0", "0.0.0.0", "::", "0::0/0"})
# A public network shorter than these prefixes counts as "the internet": 0.0.0.0/1 plus
# 128.0.0.0/1 is the whole of it, and a /8 is not far off. Trivy counts every public
# network of more than one address; policy config can be that strict (32 and 128).
DEFAULT_WORLD_PREFIX = {"worldPrefixV4": 24, "worldPrefixV6": 48}
WORLD_PREFIX_SCHEMA = {
    "worldPrefixV4": {
        "type": "integer",
        "minimum": 1,
        "maximum": 32,
        "default": DEFAULT_WORLD_PREFIX["worldPrefixV4"],
    },
    "worldPrefixV6": {
        "type": "integer",
        "minimum": 1,
        "maximum": 128,
        "default": DEFAULT_WORLD_PREFIX["worldPrefixV6"],
    },
}
ALL_PORTS = "all"
Ports = frozenset[int] | str


def short_type(type_token: str) -> str:
    """digitalocean:index/droplet:Droplet -> digitalocean.Droplet"""
    package, _, rest = type_token.partition(":")
    return f"{package}.{rest.rsplit(':', 1)[-1]}"


Rule = TypeVar("Rule", ResourceValidationPolicy, StackValidationPolicy)


def _declare(kind: type[Rule]) -> Callable[..., Callable[[Callable[..., None]], Rule]]:
    """A decorator that turns a validator into a ``kind`` of policy."""

    def rule(
        name: str,
        severity: Severity,
        description: str,
        *,
        level: EnforcementLevel = EnforcementLevel.MANDATORY,
        config: PolicyConfigSchema | None = None,
    ) -> Callable[[Callable[..., None]], Rule]:
        def declare(validate: Callable[..., None]) -> Rule:
            return kind(
                name=name,
                description=description,
                validate=validate,
                enforcement_level=level,
                severity=severity,
                config_schema=config,
            )

        return declare

    return rule


resource_rule = _declare(ResourceValidationPolicy)
"""Declare a rule that checks one resource at a time: ``@resource_rule(name, severity,
description, level=..., config=...)`` on its validator. ``level`` is the rule's default; a
stack's policy config may override it."""
stack_rule = _declare(StackValidationPolicy)
"""Declare a rule that checks the whole stack at once (what one resource can't show)."""


class Named(Protocol):
    """A resource as a rule sees it (ResourceValidationArgs or a stack's PolicyResource)."""

    name: str
    resource_type: str
    urn: str


def message(resource: Named, problem: str, fix: str) -> str:
    """The one shape of every violation: which resource, what is wrong, the fix."""
    return f"{short_type(resource.resource_type)} '{resource.name}': {problem}. Fix: {fix}."


def flag(report: ReportViolation, resource: Named, problem: str, fix: str) -> None:
    """Report that ``resource`` breaks the rule (its urn names it to the engine)."""
    report(message(resource, problem, fix), resource.urn)


def flag_stack(report: ReportViolation, problem: str, fix: str) -> None:
    """Report that the stack as a whole breaks the rule (no one resource does)."""
    report(f"stack: {problem}. Fix: {fix}.", None)


def ports_of(protocol: str | None, port_range: str | None) -> Ports:
    """The ports a rule opens: a set, ALL_PORTS, or an empty set for ICMP.

    DigitalOcean reads an empty range for tcp/udp, "all", "0" and "1-65535" as every port.
    """
    if (protocol or "").lower() == "icmp":
        return frozenset()
    text = (port_range or "").strip().lower()
    if text in ("", "all", "0", "1-65535", "0-65535"):
        return ALL_PORTS
    low, _, high = text.partition("-")
    first, last = int(low), int(high or low)
    if last - first >= 65534:
        return ALL_PORTS
    return frozenset(range(first, last + 1))


def describe_ports(protocol: str | None, ports: Ports) -> str:
    if (protocol or "").lower() == "icmp":
        return "ICMP"
    if not isinstance(ports, frozenset):
        return f"every {protocol} port"
    ordered = sorted(ports)
    if len(ordered) > 1 and ordered[-1] - ordered[0] + 1 == len(ordered):
        return f"{protocol} ports {ordered[0]}-{ordered[-1]}"
    return f"{protocol} port{'s' if len(ordered) > 1 else ''} {', '.join(map(str, ordered))}"


def world_sources(
    addresses: Iterable[str] | None, config: Mapping[str, Any] | None = None
) -> list[str]:
    """The addresses that open to the internet at large: 0.0.0.0/0 and ::/0, and any
    public network wider than the configured prefixes (worldPrefixV4/V6)."""
    found = []
    for address in addresses or []:
        if address in WORLD:
            found.append(address)
            continue
        try:
            network = ipaddress.ip_network(address, strict=False)
        except ValueError:
            continue
        key = "worldPrefixV4" if network.version == 4 else "worldPrefixV6"
        limit = int(config_value(config, key, DEFAULT_WORLD_PREFIX[key]))
        if network.prefixlen == 0 or (not network.is_private and network.prefixlen < limit):
            found.append(address)
    return found


def outside(ports: Ports, allowed: Iterable[Any]) -> Ports:
    """The ports in ``ports`` that are not in ``allowed`` (ALL_PORTS if unbounded)."""
    permitted = {int(p) for p in allowed}
    if ports == ALL_PORTS:
        return ALL_PORTS
    assert isinstance(ports, frozenset)
    return frozenset(p for p in ports if p not in permitted)


def config_value(config: Mapping[str, Any] | None, key: str, default: Any) -> Any:
    if not config or key not in config:
        return default
    return config[key]


def is_tenant_cluster(props: Mapping[str, Any]) -> bool:
    """An Atlas shared-tier (M0) cluster: its region configs use the TENANT provider."""
    for spec in props.get("replicationSpecs") or []:
        for region in spec.get("regionConfigs") or []:
            if region.get("providerName") == "TENANT":
                return True
    return False


def retention_days(item: Mapping[str, Any] | None) -> int:
    """A backup policy item's retention in days (0 if there is none)."""
    if not item:
        return 0
    unit = (item.get("retentionUnit") or "days").lower()
    value = int(item.get("retentionValue") or 0)
    return value * {"days": 1, "weeks": 7, "months": 30, "years": 365}.get(unit, 1)
