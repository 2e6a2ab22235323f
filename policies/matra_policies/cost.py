"""The budget rule: what the stack's resources cost a month, priced with prices.json (the
catalogue the program's monthlyCostUsd output uses), stays within the stack's
budget-monthly-usd."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, Severity, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from matra_data.prices import CATALOGUE as PRICES
from matra_data.prices import HOURS_PER_MONTH, cents, money

from .common import Parameter, flag_stack, parameters, short_type, stack_rule
from .types import (
    ATLAS_CLUSTER,
    DATABASE_CLUSTER,
    DROPLET,
    LOAD_BALANCER,
    RESERVED_IP,
    UPTIME_CHECK,
)

BUDGET = Parameter("budget-monthly-usd", {"type": "number", "minimum": 0})
"""The stack's monthly budget in US dollars; no default: unset, nothing is checked."""
BIGGEST = 3
ATLAS_PRICED_NODES = Decimal(PRICES["atlasNodes"]["pricedNodes"])
ATLAS_SPECS = ("electableSpecs", "readOnlySpecs", "analyticsSpecs")


class UnpricedError(Exception):
    """A resource whose size, tier or type prices.json has no price for."""


@dataclass
class Estimate:
    """What the resources cost a month, by item (alike resources counted together), and
    what could not be priced: unknown in this preview, or missing from the catalogue."""

    items: dict[str, Decimal] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)

    def add(self, what: str, amount: Decimal) -> None:
        self.items[what] = self.items.get(what, Decimal("0.00")) + amount
        self.counts[what] = self.counts.get(what, 0) + 1

    @property
    def total(self) -> Decimal:
        return cents(sum(self.items.values(), Decimal("0.00")))

    def label(self, what: str) -> str:
        count = self.counts[what]
        return what if count == 1 else f"{count} x {what}"

    def biggest(self, count: int = BIGGEST) -> list[tuple[str, Decimal]]:
        """The costliest items (none that cost nothing), counted: '3 x droplet ...'."""
        ranked = sorted(self.items.items(), key=lambda item: item[1], reverse=True)
        return [(self.label(what), amount) for what, amount in ranked if amount > 0][:count]


def _number(value: Any, default: int) -> int:
    return default if value is None else int(value)


def _droplet(props: Mapping[str, Any], estimate: Estimate) -> None:
    size = props.get("size")
    if size not in PRICES["dropletSizes"]:
        raise UnpricedError(f"size {size}")
    price = Decimal(PRICES["dropletSizes"][size]["usdMonthly"])
    estimate.add(f"droplet {size}", price)
    if props.get("backups"):
        plan = (props.get("backupPolicy") or {}).get("plan") or "weekly"  # DigitalOcean's default
        if plan not in PRICES["dropletBackups"]:
            raise UnpricedError(f"backup plan {plan}")
        share = Decimal(PRICES["dropletBackups"][plan]["shareOfDroplet"])
        estimate.add(f"{plan} backups of {size}", cents(share * price))


def _load_balancer(props: Mapping[str, Any], estimate: Estimate, name: str) -> None:
    kind = props.get("type") or "REGIONAL"
    if kind not in PRICES["loadBalancers"] or props.get("size"):
        raise UnpricedError(
            f"type {kind}" + (f", size {props.get('size')}" if props.get("size") else "")
        )
    units = _number(props.get("sizeUnit"), 1)
    price = Decimal(PRICES["loadBalancers"][kind]["usdMonthlyPerSizeUnit"])
    estimate.add(f"{name}: load balancer, {units} size unit{'s' * (units > 1)}", price * units)


def _reserved_ip(props: Mapping[str, Any], estimate: Estimate, name: str) -> None:
    try:
        assigned = props.get("dropletId") is not None
    except UnknownValueError:
        assigned = True  # the id of a droplet created with it: assigned once it exists
    state = "assigned" if assigned else "unassigned"
    price = Decimal(PRICES["reservedIpv4"][state]["usdMonthly"])
    estimate.add(f"{name}: reserved IP, {state}", price)


def _database(props: Mapping[str, Any], estimate: Estimate, name: str) -> None:
    size = props.get("size")
    if size not in PRICES["databaseSizes"]:
        raise UnpricedError(f"size {size}")
    nodes = _number(props.get("nodeCount"), 1)
    price = Decimal(PRICES["databaseSizes"][size]["usdMonthlyPerNode"])
    engine = props.get("engine") or "database"
    estimate.add(f"{name}: {engine} {size}, {nodes} node{'s' * (nodes > 1)}", price * nodes)


def _atlas_cluster(props: Mapping[str, Any], estimate: Estimate, name: str) -> None:
    """Each data-bearing node: the tier's hourly price (for 3 nodes) x 730 hours / 3."""
    amount, shapes = Decimal(0), []
    for spec in props.get("replicationSpecs") or []:
        for region in spec.get("regionConfigs") or []:
            for key in ATLAS_SPECS:
                nodes_spec = region.get(key)
                if not nodes_spec or not nodes_spec.get("instanceSize"):
                    continue
                tier = nodes_spec.get("instanceSize")
                default = 3 if key == "electableSpecs" else 0  # a tenant (M0) sets none
                nodes = _number(nodes_spec.get("nodeCount"), default)
                if nodes == 0:
                    continue
                if tier not in PRICES["atlasTiers"]:
                    raise UnpricedError(f"tier {tier}")
                hourly = Decimal(PRICES["atlasTiers"][tier]["usdHourly"])
                amount += hourly * HOURS_PER_MONTH * nodes / ATLAS_PRICED_NODES
                shapes.append(f"{tier}, {nodes} nodes")
    estimate.add(f"{name}: Atlas {'; '.join(shapes)}", cents(amount))


def _uptime_check(estimate: Estimate) -> None:
    estimate.add("uptime check", Decimal(PRICES["uptimeChecks"]["usdMonthlyEach"]))


def estimate_resources(resources: Iterable[Any]) -> Estimate:
    """The month of every priced resource (PolicyResources of a stack rule)."""
    estimate = Estimate()
    for resource in resources:
        kind, props, name = resource.resource_type, resource.props, resource.name
        label = f"{short_type(kind)} '{name}'"
        try:
            if kind == DROPLET:
                _droplet(props, estimate)
            elif kind == LOAD_BALANCER:
                _load_balancer(props, estimate, name)
            elif kind == RESERVED_IP:
                _reserved_ip(props, estimate, name)
            elif kind == DATABASE_CLUSTER:
                _database(props, estimate, name)
            elif kind == ATLAS_CLUSTER:
                _atlas_cluster(props, estimate, name)
            elif kind == UPTIME_CHECK:
                _uptime_check(estimate)
        except UnknownValueError:
            estimate.unknown.append(label)
        except UnpricedError as missing:
            estimate.unpriced.append(f"{label} ({missing})")
    return estimate


@stack_rule(
    "stack-budget-monthly-usd",
    Severity.LOW,
    level=EnforcementLevel.ADVISORY,
    config=parameters(BUDGET),
)
def budget(args: StackValidationArgs, report: ReportViolation) -> None:
    """The stack's estimated monthly cost stays within its budget-monthly-usd (policy config;
    unset, nothing is checked). Priced with matra_data/prices.json, the catalogue
    behind the program's monthlyCostUsd output: droplets and their backups, load balancers,
    unassigned reserved IPs, managed databases (size x nodes), Atlas clusters (tier x nodes) and
    uptime checks. Usage-priced charges (transfer, Atlas backup storage) are not counted."""
    ceiling = BUDGET.value(args.get_config())
    if ceiling is None:
        return
    limit = cents(Decimal(str(ceiling)))
    found = estimate_resources(args.resources)
    config_fix = f"{BUDGET.key} in policies/config/<stack>.json"
    if found.unpriced:
        flag_stack(
            report,
            f"can't price {', '.join(found.unpriced)}, so the estimate "
            f"{money(found.total)}/month leaves them out of the budget {money(limit)}/month",
            "add the size, tier or type to matra_data/prices.json with its price, source and date",
        )
    if found.total > limit:
        items = ", ".join(f"{what} ({money(amount)})" for what, amount in found.biggest())
        unknown = (
            f"; not known in this preview: {', '.join(found.unknown)}" if found.unknown else ""
        )
        flag_stack(
            report,
            f"estimated {money(found.total)}/month exceeds the budget {money(limit)}/month; "
            f"biggest items: {items}{unknown}",
            "shrink the biggest items (fewer or smaller droplets, a smaller Atlas tier or "
            f"cache), or raise {config_fix} if the spend is intended",
        )


POLICIES = [budget]
