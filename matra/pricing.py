"""What a stack costs a month, from its settings alone (so it is known at preview).

The prices are matra_data's catalogue (``matra_data/prices.json``), the one the pack's
budget rule reads too. The settings offer exactly the droplet sizes, database sizes and
Atlas tiers priced there (``matra_data/catalog.py``), so a size the settings accept
always has a price. ``estimate(settings)`` is a pure function: it returns every priced
line per component (fleet, ingress, atlas, cache, shared) and the total, in exact cents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from matra_data.prices import (
    ATLAS_NODES,
    ATLAS_TIERS,
    BACKUPS,
    DATABASES,
    DROPLET_FREE,
    DROPLETS,
    FREE,
    HOURS_PER_MONTH,
    LOAD_BALANCER,
    NOT_CREATED,
    PRICE_DATES,
    PRICES_PATH,
    RESERVED_IP_ASSIGNED,
    UPTIME_CHECK,
    USAGE_BASED,
    Price,
    atlas_monthly,
    cents,
    money,
)

from .settings import StackSettings

COMPONENTS = ("fleet", "ingress", "atlas", "cache", "shared")


@dataclass(frozen=True)
class Line:
    """One priced line of the estimate: quantity x unit price = monthly."""

    component: str
    kind: str
    """The resource kind: droplet, droplet backups, load balancer, ..."""
    what: str
    quantity: int
    unit: str
    unit_usd: Decimal
    monthly_usd: Decimal
    price: Price

    @property
    def label(self) -> str:
        """What the line is, counted: '3 x API droplet s-4vcpu-8gb'."""
        counted = self.quantity > 1 and self.unit != "hour"
        return f"{self.quantity} x {self.what}" if counted else self.what

    def as_output(self) -> str:
        """The line for the costBreakdown output, e.g. 'fleet, droplet: API droplet
        s-4vcpu-8gb, 3 droplets x $48.00 = $144.00 (do-api-sizes 2026-08-21, sure)'."""
        units = f"{self.quantity} {self.unit}{'s' * (self.quantity != 1)}"
        return (
            f"{self.component}, {self.kind}: {self.what}, {units} x {money(self.unit_usd)} = "
            f"{money(self.monthly_usd)} ({self.price.source} {self.price.date}, "
            f"{self.price.confidence})"
        )


def _line(
    component: str,
    kind: str,
    what: str,
    quantity: int,
    unit: str,
    price: Price,
    *,
    unit_usd: Decimal | None = None,
    monthly_usd: Decimal | None = None,
) -> Line:
    """A line at ``price`` each, unless the unit price (and the month) are worked out."""
    each = price.amount if unit_usd is None else unit_usd
    month = cents(each * quantity) if monthly_usd is None else monthly_usd
    return Line(component, kind, what, quantity, unit, each, month, price)


def _droplets(component: str, role: str, size: str, count: int) -> Line:
    """``count`` droplets of ``size`` (the API's, or the cache's), at the size's price."""
    return _line(component, "droplet", f"{role} droplet {size}", count, "droplet", DROPLETS[size])


@dataclass(frozen=True)
class CostEstimate:
    lines: tuple[Line, ...]
    free: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per component, what it creates that costs nothing."""
    not_counted: tuple[str, ...] = ()
    """Usage-priced charges the stack may incur, which no setting decides."""
    notes: tuple[str, ...] = ()

    @property
    def total_usd(self) -> Decimal:
        return sum((line.monthly_usd for line in self.lines), Decimal("0.00"))

    @property
    def monthly_usd(self) -> float:
        """The total as a number, for the stack output."""
        return float(self.total_usd)

    def by_component(self) -> dict[str, Decimal]:
        return {
            c: sum((x.monthly_usd for x in self.lines if x.component == c), Decimal("0.00"))
            for c in COMPONENTS
        }

    def by_kind(self) -> dict[str, Decimal]:
        kinds: dict[str, Decimal] = {}
        for line in self.lines:
            kinds[line.kind] = kinds.get(line.kind, Decimal("0.00")) + line.monthly_usd
        return kinds

    def biggest(self, count: int = 3) -> list[Line]:
        """The costliest lines (none that cost nothing)."""
        ranked = sorted(self.lines, key=lambda x: x.monthly_usd, reverse=True)
        return [line for line in ranked if line.monthly_usd > 0][:count]

    def breakdown(self) -> dict[str, Any]:
        """The stack output costBreakdown: the total per component and per resource kind
        (numbers), every priced line (quantity x unit price = month, with its source),
        what costs nothing and what is not counted. Plain values only, so a preview shows
        all of it; lines as text keep the output small (every program run serializes it)."""
        return {
            "monthlyUsd": self.monthly_usd,
            "byComponent": {c: float(amount) for c, amount in self.by_component().items()},
            "byKind": {kind: float(amount) for kind, amount in self.by_kind().items()},
            "items": [line.as_output() for line in self.lines],
            "free": [f"{c}: {', '.join(items)}" for c, items in self.free.items() if items],
            "notCounted": list(self.not_counted),
            "notes": list(self.notes),
            "prices": f"{PRICES_PATH} (sources dated {PRICE_DATES[0]} to {PRICE_DATES[-1]})",
        }

    def summary(self) -> str:
        """One line for the preview: the total and the biggest items."""
        top = ", ".join(f"{x.label} {money(x.monthly_usd)}" for x in self.biggest())
        return (
            f"estimated cost {money(self.total_usd)}/month: {top or 'nothing priced'}; "
            f"usage-based charges not counted; the costBreakdown output has every item "
            f"(prices: {PRICES_PATH})"
        )


def estimate(settings: StackSettings) -> CostEstimate:
    """Every priced line the stack's settings make, and what they leave free or uncounted."""
    fleet, data = settings.fleet, settings.data
    lines: list[Line] = []
    free: dict[str, tuple[str, ...]] = {}
    not_counted = [USAGE_BASED["dropletTransfer"]]
    notes = [
        f"a month is {HOURS_PER_MONTH} hours (Atlas tiers are priced by the hour)",
        "Atlas prices are AWS US_EAST_1's; Atlas prices vary by region",
    ]

    # fleet: the API droplets and their backups; the Cloud Firewall and tag are free.
    size, count = fleet.droplet_size, fleet.droplet_count
    lines.append(_droplets("fleet", "API", size, count))
    if fleet.backup_policy is not None:
        plan = fleet.backup_policy.plan
        share = BACKUPS[plan]
        lines.append(
            _line(
                "fleet",
                "droplet backups",
                f"{plan} backups of {size} ({share.amount:.0%} of the droplet)",
                count,
                "droplet",
                share,
                unit_usd=cents(share.amount * DROPLETS[size].amount),
            )
        )
    free["fleet"] = DROPLET_FREE

    # ingress: the load balancer (its certificate is free), or the lone droplet's
    # reserved IP (free while assigned, which it always is here).
    if fleet.load_balancer:
        units = fleet.load_balancer_size_unit
        lines.append(
            _line(
                "ingress",
                "load balancer",
                "regional load balancer",
                units,
                "size unit",
                LOAD_BALANCER,
            )
        )
        free["ingress"] = (FREE["certificate"],)
    else:
        lines.append(
            _line(
                "ingress",
                "reserved ip",
                "reserved IPv4, assigned to api-0",
                1,
                "IP",
                RESERVED_IP_ASSIGNED,
            )
        )
        free["ingress"] = ()
    if fleet.dns_zone is not None:
        free["ingress"] = (*free["ingress"], FREE["dnsRecord"])

    # atlas: the cluster; backups are priced by usage.
    atlas = data.atlas
    tier = ATLAS_TIERS[atlas.tier]
    nodes = 3 if atlas.is_shared else atlas.node_count
    if nodes != ATLAS_NODES.amount:
        # Priced in proportion to the 3 nodes the tier's price covers: derived.
        tier = Price(
            tier.amount, f"{tier.source}, {ATLAS_NODES.source}", tier.date, ATLAS_NODES.confidence
        )
    shape = "shared tier" if atlas.is_shared else f"{nodes} nodes"
    lines.append(
        _line(
            "atlas",
            "atlas cluster",
            f"Atlas {atlas.tier} ({shape})",
            int(HOURS_PER_MONTH),
            "hour",
            tier,
            unit_usd=tier.amount * nodes / ATLAS_NODES.amount,
            monthly_usd=atlas_monthly(atlas.tier, nodes),
        )
    )
    free["atlas"] = (FREE["atlasProject"], FREE["atlasDatabaseUser"], FREE["atlasAccessList"])
    if atlas.backups:
        not_counted.append(USAGE_BASED["atlasCloudBackup"])
    if atlas.point_in_time:
        not_counted.append(USAGE_BASED["atlasContinuousBackup"])

    # cache: managed Valkey nodes (a standby costs what the primary does), or a droplet.
    redis = data.redis
    if redis.mode == "managed":
        lines.append(
            _line(
                "cache",
                "managed valkey",
                f"managed Valkey {redis.size}",
                redis.node_count,
                "node",
                DATABASES[redis.size],
            )
        )
        free["cache"] = (FREE["databaseFirewall"],)
    else:
        lines.append(_droplets("cache", "cache", redis.size, 1))
        free["cache"] = DROPLET_FREE

    # shared: the API's uptime check (Monitoring: one per stack; DigitalOcean credits one
    # free check per account, not per stack); the VPC, the project and the SSH keys are
    # free.
    lines.append(_line("shared", "uptime check", "uptime check", 1, "check", UPTIME_CHECK))
    free["shared"] = (FREE["vpc"], FREE["project"], FREE["sshKey"])
    notes.append(
        "uptime checks are priced at $1 each: the account's one free check is not credited "
        "to any stack"
    )
    notes.append(f"not created: {NOT_CREATED['containerRegistry']}")
    return CostEstimate(tuple(lines), free, tuple(not_counted), tuple(notes))
