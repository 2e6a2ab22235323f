"""What the rules share: the baseline, port and CIDR helpers, messages."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from matra_data.baseline import BASELINE

BASELINE_EGRESS_PORTS = sorted(
    {p["port"] for p in [*BASELINE["egress"], *BASELINE["apiEgress"]]}, key=int
)
BASELINE_CURRENT_IMAGE = BASELINE["supportedImages"][0]
"""The newest supported image: where a droplet on an end-of-life one should move."""
BASELINE_END_OF_LIFE_IMAGES = sorted(BASELINE["endOfLifeImages"])

WORLD = frozenset({"0.0.0.0/0", "::/0", "0.0.0.0", "::", "0::0/0"})
ALL_PORTS = "all"
Ports = frozenset[int] | str


@dataclass(frozen=True)
class Parameter:
    """One parameter of a rule's policy config: its key, its JSON schema and its default,
    declared once for both the schema (the engine fills the default in) and the rule."""

    key: str
    schema: Mapping[str, Any]
    default: Any = None
    """None: no default; the rule reads None while the stack sets none."""

    def declared(self) -> dict[str, Any]:
        """The parameter's schema, with its default."""
        return {**self.schema, **({} if self.default is None else {"default": self.default})}

    def value(self, config: Mapping[str, Any] | None) -> Any:
        """The parameter's value in a policy config: the stack's, else the default."""
        return config_value(config, self.key, self.default)


def string_list(key: str, default: Sequence[str]) -> Parameter:
    """A parameter that is a list of strings (ports, images, names, type tokens)."""
    return Parameter(key, {"type": "array", "items": {"type": "string"}}, default)


def parameters(*declared: Parameter) -> PolicyConfigSchema:
    """A rule's config schema: its parameters, each with its default."""
    return PolicyConfigSchema(properties={p.key: p.declared() for p in declared})


# A public network shorter than these prefixes counts as "the internet": 0.0.0.0/1 plus
# 128.0.0.0/1 is the whole of it, and a /8 is not far off. Trivy counts every public
# network of more than one address; policy config can be that strict (32 and 128).
WORLD_PREFIX = {
    4: Parameter("worldPrefixV4", {"type": "integer", "minimum": 1, "maximum": 32}, 24),
    6: Parameter("worldPrefixV6", {"type": "integer", "minimum": 1, "maximum": 128}, 48),
}
"""The widest public network (by IP version) that does not count as the internet."""


def short_type(type_token: str) -> str:
    """digitalocean:index/droplet:Droplet -> digitalocean.Droplet"""
    package, _, rest = type_token.partition(":")
    return f"{package}.{rest.rsplit(':', 1)[-1]}"


Rule = TypeVar("Rule", ResourceValidationPolicy, StackValidationPolicy)
Validator = Callable[[Any, ReportViolation], None]


def _registered(args: ResourceValidationArgs | StackValidationArgs) -> set[str]:
    """The resource types a check is looking at: its resource's, or the whole stack's."""
    if isinstance(args, StackValidationArgs):
        return {resource.resource_type for resource in args.resources}
    return {args.resource_type}


def _only_for(types: str | Collection[str], validate: Validator) -> Validator:
    """``validate``, run only where one of ``types`` is registered (silent elsewhere)."""
    wanted = frozenset([types] if isinstance(types, str) else types)

    @functools.wraps(validate)
    def applicable(
        args: ResourceValidationArgs | StackValidationArgs, report: ReportViolation
    ) -> None:
        if not wanted.isdisjoint(_registered(args)):
            validate(args, report)

    return applicable


def _described(description: str | None, validate: Validator) -> str:
    """A rule's description: the one given, else its validator's docstring as one line."""
    text = description or " ".join((validate.__doc__ or "").split())
    if not text:
        raise ValueError(f"{validate.__name__}: a rule needs a description or a docstring")
    return text


def _declare(kind: type[Rule]) -> Callable[..., Callable[[Validator], Rule]]:
    """A decorator that turns a validator into a ``kind`` of policy."""

    def rule(
        name: str,
        severity: Severity,
        description: str | None = None,
        *,
        level: EnforcementLevel = EnforcementLevel.MANDATORY,
        config: PolicyConfigSchema | None = None,
        types: str | Collection[str] = (),
    ) -> Callable[[Validator], Rule]:
        def declare(validate: Validator) -> Rule:
            return kind(
                name=name,
                description=_described(description, validate),
                validate=_only_for(types, validate) if types else validate,
                enforcement_level=level,
                severity=severity,
                config_schema=config,
            )

        return declare

    return rule


resource_rule = _declare(ResourceValidationPolicy)
"""Declare a rule that checks one resource at a time: ``@resource_rule(name, severity,
level=..., config=..., types=...)`` on its validator, whose docstring is the rule's
description (or pass ``description`` after ``severity``). ``level`` is the rule's default;
a stack's policy config may override it. ``config`` is its parameters' schema
(``parameters(...)``). ``types``, a type token or several, are the resource types the rule
checks: the validator sees no other (without ``types``, it sees every resource)."""
stack_rule = _declare(StackValidationPolicy)
"""Declare a rule that checks the whole stack at once (what one resource can't show), as
``resource_rule`` does; with ``types``, it runs only in a stack that registers one of them."""


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


def flag_unset(
    report: ReportViolation, args: ResourceValidationArgs, key: str, problem: str, fix: str
) -> None:
    """Report that ``args`` breaks the rule unless its property ``key`` is on (true, or
    set): what a required setting means, to ``required_setting`` and to a rule that checks
    one among other things."""
    if not args.props.get(key):
        flag(report, args, problem, fix)


def required_setting(
    name: str,
    severity: Severity,
    description: str,
    *,
    types: str | Collection[str],
    key: str,
    problem: str,
    fix: str,
    unless: Callable[[Mapping[str, Any]], bool] | None = None,
) -> ResourceValidationPolicy:
    """Declare a rule that every resource of ``types`` has its property ``key`` on (true, or
    set): where it is off or unset, the rule reports ``problem`` and ``fix``. ``unless``
    exempts a resource by its properties."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if unless is not None and unless(args.props):
            return
        flag_unset(report, args, key, problem, fix)

    declare: Callable[[Validator], ResourceValidationPolicy] = resource_rule(
        name, severity, description, types=types
    )
    return declare(validate)


def world_rule(
    name: str, severity: Severity, *own: Parameter, types: str | Collection[str]
) -> Callable[[Validator], ResourceValidationPolicy]:
    """Declare a rule (as ``resource_rule`` does) that judges addresses with
    ``world_sources``: its config takes the world prefixes that function reads
    (worldPrefixV4/V6) besides the rule's ``own`` parameters."""
    declare: Callable[[Validator], ResourceValidationPolicy] = resource_rule(
        name, severity, config=parameters(*own, *WORLD_PREFIX.values()), types=types
    )
    return declare


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
        limit = int(WORLD_PREFIX[network.version].value(config))
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
