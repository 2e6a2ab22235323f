"""What each stack costs: the price catalogue (matra_data/prices.json), the
estimate from the settings (matra/pricing.py), and the outputs monthlyCostUsd and
costBreakdown. The estimate is a pure function of the settings, so most tests call it
directly; the program runs here are the shipped stacks' (cached per session)."""

import functools
import json
import re
from dataclasses import replace
from decimal import Decimal

import pulumi_digitalocean as digitalocean
import pytest

from harness import ROOT, STACKS, run, run_program, stack_config
from matra import pricing
from matra import settings as stack_settings
from matra.settings import BackupPolicy, ConfigError, StackSettings
from matra_data import catalog

PRICES = json.loads((ROOT / "matra_data" / "prices.json").read_text())


@functools.cache
def settings_of(stack: str) -> StackSettings:
    """A shipped stack's settings, read as the program reads them in a preview (nothing
    is registered)."""
    loaded: list[StackSettings] = []
    result = run(
        lambda: loaded.append(stack_settings.load()),
        stack=stack,
        config=stack_config(stack),
        preview=True,
    )
    assert result.error is None, result.error
    return loaded[0]


@functools.cache
def by_hand(stack: str) -> float:
    """The stack's month, summed here from its config values and the catalogue's entries
    (not through matra/pricing.py)."""
    config = {key.split(":", 1)[1]: value for key, value in stack_config(stack).items()}
    count, size = int(config["dropletCount"]), config["dropletSize"]
    droplet = PRICES["dropletSizes"][size]["usdMonthly"]
    total = count * droplet
    if config["dropletBackups"] == "true":
        total += count * droplet * PRICES["dropletBackups"][config["backupPlan"]]["shareOfDroplet"]
    if config["loadBalancer"] == "true":
        units = int(config["loadBalancerSizeUnit"])
        total += units * PRICES["loadBalancers"]["REGIONAL"]["usdMonthlyPerSizeUnit"]
    else:
        total += PRICES["reservedIpv4"]["assigned"]["usdMonthly"]
    hourly = PRICES["atlasTiers"][config["atlasTier"]]["usdHourly"]
    total += hourly * PRICES["hoursPerMonth"] * int(config["atlasNodeCount"]) / 3
    if config["redisMode"] == "managed":
        node = PRICES["databaseSizes"][config["redisSize"]]["usdMonthlyPerNode"]
        total += int(config["redisNodeCount"]) * node
    else:
        total += PRICES["dropletSizes"][config["redisSize"]]["usdMonthly"]
    # Every stack's one uptime check on the API.
    total += PRICES["uptimeChecks"]["usdMonthlyEach"]
    return round(total, 2)


# -- the catalogue -----------------------------------------------------------------


def _entries():
    """Every priced, free, usage-based or not-created entry, with where it sits."""
    for group in ("dropletSizes", "dropletBackups", "loadBalancers", "reservedIpv4"):
        yield from ((f"{group}.{key}", entry) for key, entry in PRICES[group].items())
    for group in ("databaseSizes", "atlasTiers", "free", "usageBased", "notCreated"):
        yield from ((f"{group}.{key}", entry) for key, entry in PRICES[group].items())
    yield "atlasNodes", PRICES["atlasNodes"]
    yield "uptimeChecks", PRICES["uptimeChecks"]


def test_every_entry_has_a_source_with_a_date_and_a_confidence():
    used = set()
    for where, entry in _entries():
        source = PRICES["sources"].get(entry["source"])
        assert source is not None, f"{where}: no source {entry['source']!r}"
        used.add(entry["source"])
    for name, source in PRICES["sources"].items():
        assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", source["date"]), name
        assert source["confidence"] in PRICES["confidence"], name
        assert source["what"] and source["dateIs"], name
    assert used == set(PRICES["sources"]), "a source no entry uses"


def test_free_items_are_listed_at_zero():
    assert all(entry["usdMonthly"] == 0 for entry in PRICES["free"].values())


def test_the_sizes_the_settings_accept_are_exactly_the_priced_ones():
    assert tuple(PRICES["dropletSizes"]) == catalog.DROPLET_SIZES
    assert tuple(PRICES["databaseSizes"]) == catalog.DATABASE_SIZES
    assert tuple(PRICES["atlasTiers"]) == catalog.ATLAS_TIERS


ITEM = re.compile(
    r"(?P<component>\w+), (?P<kind>[\w ]+): .+ = \$(?P<usd>[\d,]+\.\d\d) "
    r"\((?P<source>[\w-]+) (?P<date>\d{4}-\d\d(-\d\d)?), (?P<confidence>[\w ]+)\)"
)
"""One line of costBreakdown's items."""


# -- the estimate, a pure function of the settings ---------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_each_shipped_stack_costs_the_sum_of_its_catalogue_entries(stack):
    outputs = run_program(stack).outputs
    assert outputs["monthlyCostUsd"].value == by_hand(stack) > 0
    assert outputs["costBreakdown"].value["monthlyUsd"] == by_hand(stack)


def test_one_more_droplet_adds_exactly_one_droplet_and_its_backups():
    prod = settings_of("prod")
    four = replace(prod, fleet=replace(prod.fleet, droplet_count=4))
    before, after = pricing.estimate(prod), pricing.estimate(four)
    droplet = Decimal(PRICES["dropletSizes"]["s-4vcpu-8gb"]["usdMonthly"])
    weekly = droplet * Decimal(str(PRICES["dropletBackups"]["weekly"]["shareOfDroplet"]))
    assert after.total_usd - before.total_usd == droplet + weekly > 0
    kinds_before, kinds_after = before.by_kind(), after.by_kind()
    assert kinds_after["droplet"] - kinds_before["droplet"] == droplet
    assert kinds_after["droplet backups"] - kinds_before["droplet backups"] == weekly
    assert {k for k in kinds_after if kinds_after[k] != kinds_before[k]} == {
        "droplet",
        "droplet backups",
    }


def test_daily_backups_cost_their_share_of_each_droplet():
    prod = settings_of("prod")
    daily = replace(prod, fleet=replace(prod.fleet, backup_policy=BackupPolicy("daily", "SUN", 4)))
    droplet = Decimal(PRICES["dropletSizes"][prod.fleet.droplet_size]["usdMonthly"])
    share = Decimal(str(PRICES["dropletBackups"]["daily"]["shareOfDroplet"]))
    expected = prod.fleet.droplet_count * droplet * share
    assert pricing.estimate(daily).by_kind()["droplet backups"] == expected
    assert expected > pricing.estimate(prod).by_kind()["droplet backups"]  # more than weekly


def test_more_atlas_nodes_cost_in_proportion_and_say_it_is_derived():
    staging = settings_of("staging")
    five = replace(
        staging, data=replace(staging.data, atlas=replace(staging.data.atlas, node_count=5))
    )
    line = next(x for x in pricing.estimate(five).lines if x.kind == "atlas cluster")
    three = next(x for x in pricing.estimate(staging).lines if x.kind == "atlas cluster")
    assert line.monthly_usd == (three.monthly_usd * 5 / 3).quantize(Decimal("0.01"))
    # Three nodes is the tier's own price; five is derived from it, and says so.
    tier = PRICES["atlasTiers"][staging.data.atlas.tier]
    assert three.price.confidence == PRICES["sources"][tier["source"]]["confidence"]
    derived = PRICES["sources"][PRICES["atlasNodes"]["source"]]["confidence"]
    assert line.price.confidence == derived != three.price.confidence


def test_standby_valkey_nodes_cost_what_the_primary_does():
    prod = settings_of("prod")
    redis = replace(prod.data.redis, node_count=2)
    two = replace(prod, data=replace(prod.data, redis=redis))
    one = pricing.estimate(prod).by_kind()["managed valkey"]
    assert pricing.estimate(two).by_kind()["managed valkey"] == 2 * one > 0


def test_load_balancer_size_units_and_the_lone_droplets_free_reserved_ip():
    prod = settings_of("prod")
    bigger = replace(prod, fleet=replace(prod.fleet, load_balancer_size_unit=3))
    unit = Decimal(str(PRICES["loadBalancers"]["REGIONAL"]["usdMonthlyPerSizeUnit"]))
    assert pricing.estimate(bigger).by_kind()["load balancer"] == 3 * unit > 0
    dev = pricing.estimate(settings_of("dev"))
    assert dev.by_kind()["reserved ip"] == 0 and "load balancer" not in dev.by_kind()


# -- the outputs and the preview line ------------------------------------------------


def test_the_outputs_are_plain_numbers_known_even_in_a_preview_of_a_new_stack():
    program = run_program("dev", engine_preview=True)
    assert program.error is None, program.error
    total, breakdown = program.outputs["monthlyCostUsd"], program.outputs["costBreakdown"]
    assert total.known and not total.secret and isinstance(total.value, float)
    assert breakdown.known and not breakdown.secret
    assert total.value == by_hand("dev")
    assert round(sum(breakdown.value["byComponent"].values()), 2) == total.value
    assert round(sum(breakdown.value["byKind"].values()), 2) == total.value


def test_the_breakdown_names_every_priced_line_and_what_it_leaves_out():
    breakdown = run_program("prod").outputs["costBreakdown"].value
    assert set(breakdown["byComponent"]) == {"fleet", "ingress", "atlas", "cache", "shared"}
    assert round(sum(breakdown["byComponent"].values()), 2) == by_hand("prod")
    # Each item: what and how many, the sum, and where its price comes from.
    total = 0.0
    for item in breakdown["items"]:
        match = ITEM.fullmatch(item)
        assert match, item
        source = PRICES["sources"][match["source"]]
        assert (match["date"], match["confidence"]) == (source["date"], source["confidence"])
        total += float(match["usd"].replace(",", ""))
    assert round(total, 2) == by_hand("prod")
    config = {key.split(":", 1)[1]: value for key, value in stack_config("prod").items()}
    droplet = PRICES["dropletSizes"][config["dropletSize"]]["usdMonthly"]
    assert (
        f"API droplet {config['dropletSize']}, {config['dropletCount']} droplets x ${droplet:.2f}"
        in breakdown["items"][0]
    )
    assert any("Atlas cloud backup" in item for item in breakdown["notCounted"])
    assert any("point-in-time" in item for item in breakdown["notCounted"])
    assert any(line.startswith("not created: container registry") for line in breakdown["notes"])


def test_a_preview_logs_the_estimate_once_in_one_line():
    """The month, its three largest items, largest first, and where the rest is."""
    infos = run_program("prod").infos
    (line,) = [line for line in infos if line.startswith("estimated cost")]
    assert "\n" not in line
    assert line.startswith(f"estimated cost ${by_hand('prod'):,.2f}/month: ")
    assert line.endswith(
        "; usage-based charges not counted; the costBreakdown output has every item (prices: "
        "matra_data/prices.json)"
    )
    largest = [float(f.replace(",", "")) for f in re.findall(r" \$([\d,]+\.\d\d)", line)][1:]
    assert len(largest) == 3 and largest == sorted(largest, reverse=True)


def test_the_prices_page_states_each_stacks_month_and_budget():
    """docs/prices.md (generated by make docs) shows the program's estimate of each shipped
    stack and the budget its policy config gives."""
    lines = (ROOT / "docs" / "prices.md").read_text().splitlines()
    assert "| a month | dev | staging | prod |" in lines
    row = next(line for line in lines if line.startswith("| **total**"))
    figures = [float(f.replace(",", "")) for f in re.findall(r"\$([\d,]+\.\d\d)", row)]
    assert figures == [by_hand(stack) for stack in ("dev", "staging", "prod")]
    row = next(line for line in lines if line.startswith("| budget ("))
    ceilings = [float(f.replace(",", "")) for f in re.findall(r"\$([\d,]+\.\d\d)", row)]
    assert ceilings == [budget_of(stack) for stack in ("dev", "staging", "prod")]


def budget_of(stack: str) -> int:
    config = json.loads((ROOT / "policies" / "config" / f"{stack}.json").read_text())
    return config["stack-budget-monthly-usd"]["budget-monthly-usd"]


# -- a size without a price ------------------------------------------------------------


def assert_refused(program, start):
    """One ConfigError line that starts with ``start``, and nothing registered."""
    assert isinstance(program.error, ConfigError), program.error
    assert "\n" not in str(program.error) and str(program.error).startswith(start), program.error
    assert program.registrations == []


def test_a_real_droplet_size_without_a_price_is_a_one_line_error():
    assert "c-48" in {slug.value for slug in digitalocean.DropletSlug}  # DigitalOcean sells it
    assert "c-48" not in PRICES["dropletSizes"]
    assert_refused(
        run_program("prod", overrides={"dropletSize": "c-48"}),
        "matra-infra:dropletSize: 'c-48' is not allowed; expected a droplet size slug from "
        "matra_data/catalog.py, each priced in matra_data/prices.json: ",
    )


def test_an_atlas_tier_without_a_price_is_a_one_line_error():
    assert_refused(
        run_program("prod", overrides={"atlasTier": "M140"}),
        "matra-infra:atlasTier: 'M140' is not allowed; expected one of: M0, M10, M20, M30, M40, "
        "M50, M60, M80 (the Atlas tiers priced in matra_data/prices.json)",
    )


def test_a_cache_size_without_a_price_is_a_one_line_error():
    assert_refused(
        run_program("prod", overrides={"redisSize": "db-s-32vcpu-128gb"}),
        "matra-infra:redisSize: 'db-s-32vcpu-128gb' is not allowed; expected a managed database "
        "size slug for redisMode managed, each priced in matra_data/prices.json",
    )
