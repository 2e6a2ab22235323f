"""Every shipped stack passes the whole pack with its own policy config (breaking one
thing at a time is in test_broken_stacks.py).

Each stack's __main__.py runs under mocks with its real config; every registered resource
(its props as sent on the wire, urn, name, protect, parent, dependencies) goes through
pulumi-policy's own servicer. One run is
shaped like a real preview of a new stack: every computed value unknown."""

import pytest

from harness import STACKS
from matra_policies import POLICIES
from policy_harness import UNKNOWN, PolicyHarness, load_config, mandatory, stack_resources


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_has_no_mandatory_violation(stack):
    resources = stack_resources(stack)
    assert len(resources) > 10
    assert mandatory(stack, resources) == []


# The rules that must run, not be skipped, when values are unknown in a preview.
MUST_RUN_IN_PREVIEW = {
    "digitalocean-firewall-no-public-ingress",
    "digitalocean-firewall-restricted-egress",
    "digitalocean-droplet-ssh-keys",
    "digitalocean-resource-in-vpc",
    "digitalocean-droplet-firewall-coverage",
    "digitalocean-database-firewall-coverage",
    "mongodbatlas-cluster-backup-schedule",
    "digitalocean-loadbalancer-tls-termination",
    "digitalocean-no-token-on-balanced-hosts",
    "pulumi-protect-database-resources",
    "stack-budget-monthly-usd",
}


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_passes_a_preview_shaped_like_the_engines(stack):
    resources = stack_resources(stack, engine_preview=True)
    assert any(UNKNOWN in str(r.props) for r in resources), "expected unknown values"
    found = PolicyHarness(POLICIES, load_config(stack)).run(resources)
    assert [v for v in found if v.mandatory] == []
    skipped = {v.policy for v in found if "can't run policy" in v.message}
    # Only what depends on a new droplet's address is unknowable before it exists: the
    # Atlas access list's entries and the connections of the commands that reach it (both
    # judged again, with their real values, before the update creates them).
    assert skipped <= {"mongodbatlas-access-list-no-world", "command-remote-host-key-pinned"}
    assert not skipped & MUST_RUN_IN_PREVIEW


def test_prod_passes_with_nothing_at_all_to_report():
    found = PolicyHarness(POLICIES, load_config("prod")).run(stack_resources("prod"))
    assert found == []


@pytest.mark.parametrize("stack", STACKS)
def test_config_files_name_only_real_policies(stack):
    config = load_config(stack)
    PolicyHarness(POLICIES, config)  # raises on an unknown policy name
    with pytest.raises(ValueError, match="unknown policies: no-such-rule"):
        PolicyHarness(POLICIES, {**config, "no-such-rule": "mandatory"})


def test_policy_names_are_unique_kebab_case_with_descriptions():
    names_ = [p.name for p in POLICIES]
    assert len(names_) == len(set(names_))
    for policy in POLICIES:
        assert policy.name == policy.name.lower() and " " not in policy.name
        assert policy.description and policy.severity is not None
