"""The price catalogue (prices.json beside this file): every price the program's cost
estimate and the policy pack's budget rule use, each with its source, date and
confidence, read once here for both. Amounts are exact (Decimal); ``cents`` rounds half
up to the cent, as a bill does."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

PRICES_FILE = Path(__file__).resolve().parent / "prices.json"
PRICES_PATH = "matra_data/prices.json"
"""Where the catalogue is, as messages name it (from the repository's root)."""
CENT = Decimal("0.01")

CATALOGUE: dict[str, Any] = json.loads(PRICES_FILE.read_text(), parse_float=Decimal)
"""The whole catalogue, as the JSON has it (amounts as Decimal)."""


@dataclass(frozen=True)
class Price:
    """One catalogue entry: the amount and where it comes from."""

    amount: Decimal
    source: str
    """The id of the entry's source in prices.json."""
    date: str
    confidence: str
    """sure, fairly sure or estimate (prices.json says what each means)."""


def _price(entry: Mapping[str, Any], key: str) -> Price:
    source = CATALOGUE["sources"][entry["source"]]
    return Price(Decimal(entry[key]), entry["source"], source["date"], source["confidence"])


HOURS_PER_MONTH = Decimal(CATALOGUE["hoursPerMonth"])
DROPLETS: dict[str, Price] = {
    size: _price(entry, "usdMonthly") for size, entry in CATALOGUE["dropletSizes"].items()
}
"""Monthly price of each droplet size slug (DigitalOcean's /v2/sizes price_monthly)."""
BACKUPS: dict[str, Price] = {
    plan: _price(entry, "shareOfDroplet") for plan, entry in CATALOGUE["dropletBackups"].items()
}
"""Droplet backup plans, priced as a share of the droplet's monthly price."""
LOAD_BALANCER = _price(CATALOGUE["loadBalancers"]["REGIONAL"], "usdMonthlyPerSizeUnit")
"""A regional HTTP load balancer, per size unit a month."""
RESERVED_IP_ASSIGNED = _price(CATALOGUE["reservedIpv4"]["assigned"], "usdMonthly")
DATABASES: dict[str, Price] = {
    size: _price(entry, "usdMonthlyPerNode") for size, entry in CATALOGUE["databaseSizes"].items()
}
"""Managed Valkey, per node a month (a standby node costs what the primary does)."""
ATLAS_TIERS: dict[str, Price] = {
    tier: _price(entry, "usdHourly") for tier, entry in CATALOGUE["atlasTiers"].items()
}
"""Atlas (AWS) hourly price of a tier's 3-node replica set."""
ATLAS_NODES = _price(CATALOGUE["atlasNodes"], "pricedNodes")
"""How many nodes a tier's hourly price covers (3); more nodes cost in proportion."""
UPTIME_CHECK = _price(CATALOGUE["uptimeChecks"], "usdMonthlyEach")
FREE: dict[str, str] = {key: entry["what"] for key, entry in CATALOGUE["free"].items()}
DROPLET_FREE = (FREE["cloudFirewall"], FREE["tag"], FREE["monitoring"])
"""What a droplet (the API's, or the cache's) comes with at no cost."""
USAGE_BASED: dict[str, str] = {
    key: f"{entry['what']}: {entry['price']}" for key, entry in CATALOGUE["usageBased"].items()
}
"""What the stack may be charged by usage, which no setting decides (not counted)."""
NOT_CREATED: dict[str, str] = {
    key: f"{entry['what']} ({entry['price']})" for key, entry in CATALOGUE["notCreated"].items()
}
PRICE_DATES: tuple[str, ...] = tuple(sorted({s["date"] for s in CATALOGUE["sources"].values()}))


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def atlas_monthly(tier: str, nodes: int) -> Decimal:
    """A cluster's month: the tier's hourly price x 730 hours x nodes / 3 (Atlas bills
    each data-bearing node; the listed price is for three)."""
    hourly = ATLAS_TIERS[tier].amount
    return cents(hourly * HOURS_PER_MONTH * nodes / ATLAS_NODES.amount)


def money(amount: Decimal | float) -> str:
    """$1,234.50; a unit price finer than a cent keeps four places ($0.1333)."""
    value = Decimal(amount)
    return f"${value:,.2f}" if value == cents(value) else f"${value:,.4f}"
