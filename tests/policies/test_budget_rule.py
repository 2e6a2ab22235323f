"""The budget rule (stack-budget-monthly-usd): the stack's month, priced from what it
registers with prices.json, against the stack's budget-monthly-usd. It passes without a
ceiling or under it, reports an advisory over it (a level the config can raise), and
prices each shipped stack exactly as the program's monthlyCostUsd output does."""

import re

import pytest

from harness import STACKS, run_program
from matra_policies import POLICIES, cost, types
from policy_harness import (
    UNKNOWN,
    PolicyHarness,
    Resource,
    assert_no_violations,
    assert_violation,
    effective_config,
    load_config,
)

RULE = "stack-budget-monthly-usd"
WEEKLY = {"plan": "weekly", "weekday": "SUN", "hour": 4}


def droplet(name="api-0", size="s-4vcpu-8gb", backups=True, policy=WEEKLY):
    props = {"size": size, "backups": backups, **({"backupPolicy": policy} if policy else {})}
    return Resource(types.DROPLET, name, props)


def balancer(name="lb", **props):
    return Resource(types.LOAD_BALANCER, name, props)


def reserved_ip(**props):
    return Resource(types.RESERVED_IP, "ip", props)


def atlas(tier="M20", nodes=3, provider="AWS"):
    specs = {"instanceSize": tier, **({"nodeCount": nodes} if provider != "TENANT" else {})}
    region = {"providerName": provider, "electableSpecs": specs}
    return Resource(
        types.ATLAS_CLUSTER, "atlas-cluster", {"replicationSpecs": [{"regionConfigs": [region]}]}
    )


def valkey(size="db-s-1vcpu-2gb", nodes=1):
    return Resource(
        types.DATABASE_CLUSTER,
        "cache-valkey",
        {"engine": "valkey", "size": size, "nodeCount": nodes},
    )


def uptime_check(name):
    return Resource(types.UPTIME_CHECK, name, {})


def prod_like():
    """prod's priced resources: 3 droplets with weekly backups, a balancer, M20, Valkey."""
    return [
        *(droplet(f"api-{i}") for i in range(3)),
        balancer("api-lb", sizeUnit=1),
        atlas(),
        valkey(),
    ]


def budget(limit, **more):
    return {"budget-monthly-usd": limit, **more}


def estimated(violation):
    """The estimate a budget violation states, in dollars."""
    return float(re.search(r"estimated \$([\d,.]+)/month", violation.message)[1].replace(",", ""))


# -- the rule on its own ----------------------------------------------------------------


def test_without_a_ceiling_nothing_is_checked():
    assert_no_violations(cost.budget, prod_like())


def test_under_the_ceiling_passes():
    assert_no_violations(cost.budget, prod_like(), config=budget(360.80))


def test_over_the_ceiling_is_an_advisory_naming_the_estimate_the_ceiling_and_the_biggest_items():
    violation = assert_violation(cost.budget, prod_like(), "exceeds the budget", config=budget(300))
    assert violation.level == "advisory"
    assert violation.message.splitlines()[-1] == (
        "stack: estimated $360.80/month exceeds the budget $300.00/month; biggest items: "
        "atlas-cluster: Atlas M20, 3 nodes ($146.00), 3 x droplet s-4vcpu-8gb ($144.00), "
        "cache-valkey: valkey db-s-1vcpu-2gb, 1 node ($30.00). Fix: shrink the biggest items "
        "(fewer or smaller droplets, a smaller Atlas tier or cache), or raise "
        "budget-monthly-usd in policies/config/<stack>.json if the spend is intended."
    )


def test_the_level_can_be_made_mandatory():
    violation = assert_violation(
        cost.budget,
        prod_like(),
        "exceeds the budget $300.00/month",
        config=budget(300, enforcementLevel="mandatory"),
    )
    assert violation.mandatory


@pytest.mark.parametrize(
    "resources, month",
    [
        ([droplet(backups=False)], 48.00),
        ([droplet()], 57.60),
        ([droplet(policy={**WEEKLY, "plan": "daily"})], 62.40),
        ([droplet(policy=None)], 57.60),  # backups on without a policy: DigitalOcean's weekly
        ([balancer(sizeUnit=3)], 36.00),
        ([balancer()], 12.00),
        ([balancer(type="REGIONAL_NETWORK", sizeUnit=2)], 30.00),
        ([reserved_ip(dropletId=123)], 0.00),
        ([reserved_ip(dropletId=UNKNOWN)], 0.00),
        ([reserved_ip()], 5.00),
        ([valkey(nodes=3)], 90.00),
        ([atlas("M10")], 58.40),
        ([atlas("M10", nodes=5)], 97.33),
        ([atlas("M0", provider="TENANT")], 0.00),
        ([uptime_check("check-a"), uptime_check("check-b")], 2.00),
    ],
)
def test_each_priced_kind(resources, month):
    if month == 0:
        assert_no_violations(cost.budget, resources, config=budget(0))
    else:
        violation = assert_violation(cost.budget, resources, "exceeds", config=budget(0))
        assert estimated(violation) == month


def test_a_size_without_a_price_is_reported_by_name():
    resources = [droplet("api-0", size="s-9vcpu-1gb"), droplet("api-1")]
    assert_violation(
        cost.budget,
        resources,
        "stack: can't price digitalocean.Droplet 'api-0' (size s-9vcpu-1gb), so the estimate "
        "$57.60/month leaves them out of the budget $100.00/month. Fix: add the size",
        config=budget(100),
    )


def test_a_size_unknown_in_a_preview_is_named_not_guessed():
    resources = [*prod_like(), droplet("api-3", size=UNKNOWN)]
    violation = assert_violation(cost.budget, resources, "exceeds", config=budget(300))
    assert estimated(violation) == 360.80
    assert "; not known in this preview: digitalocean.Droplet 'api-3'" in violation.message


# -- the shipped stacks ----------------------------------------------------------------


# dev in a preview of a new stack too: its reserved IP's droplet id is unknown there.
@pytest.mark.parametrize("stack, engine_preview", [(s, False) for s in STACKS] + [("dev", True)])
def test_the_rule_prices_each_shipped_stack_as_the_program_does(stack, engine_preview):
    program = run_program(stack, engine_preview=engine_preview)
    harness = PolicyHarness([cost.budget], {RULE: budget(0)})
    (violation,) = harness.run(program.registrations)
    assert estimated(violation) == program.outputs["monthlyCostUsd"].value


@pytest.mark.parametrize("stack", STACKS)
def test_each_shipped_stack_has_an_advisory_ceiling_a_little_above_its_estimate(stack):
    config = effective_config(POLICIES, stack, RULE)
    month = run_program(stack).outputs["monthlyCostUsd"].value
    assert config["enforcementLevel"] == "advisory"
    assert month < config["budget-monthly-usd"] <= month * 1.15


def test_lowering_prods_ceiling_reports_one_advisory():
    config = {**load_config("prod"), RULE: budget(350)}
    found = PolicyHarness(POLICIES, config).run(run_program("prod").registrations)
    assert [(v.policy, v.level) for v in found] == [(RULE, "advisory")]
    assert (
        found[0]
        .message.splitlines()[-1]
        .startswith(
            "stack: estimated $361.80/month exceeds the budget $350.00/month; biggest items: "
            "atlas-cluster: Atlas M20, 3 nodes ($146.00), 3 x droplet s-4vcpu-8gb ($144.00), "
            "cache-valkey: valkey db-s-1vcpu-2gb, 1 node ($30.00). Fix: "
        )
    )


def test_a_fourth_prod_droplet_adds_one_droplet_and_its_backups_and_trips_the_budget():
    program = run_program("prod", overrides={"dropletCount": 4})
    assert program.outputs["monthlyCostUsd"].value == round(361.80 + 48 + 9.60, 2) == 419.40
    found = PolicyHarness(POLICIES, load_config("prod")).run(program.registrations)
    assert [v.policy for v in found] == [RULE]
    assert "estimated $419.40/month exceeds the budget $400.00/month" in found[0].message
    assert "4 x droplet s-4vcpu-8gb ($192.00)" in found[0].message
