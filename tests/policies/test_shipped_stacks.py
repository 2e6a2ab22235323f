"""Every shipped stack passes the whole pack with its own policy config; breaking one
thing at a time makes the matching rule fire.

Each stack's __main__.py runs under mocks with its real config; every registered resource
(its props as sent on the wire, urn, name, protect, parent, dependencies) goes through
pulumi-policy's own servicer. One run is
shaped like a real preview of a new stack: every computed value unknown."""

from pathlib import Path

import pytest

from harness import ROOT, STACKS, run_program
from matra_policies import POLICIES
from policy_harness import UNKNOWN, PolicyHarness, load_config, secret


def stack_resources(stack, **program_args):
    program = run_program(stack, **program_args)
    assert program.error is None, program.error
    return program.registrations


def mandatory(stack, resources):
    found = PolicyHarness(POLICIES, load_config(stack)).run(resources)
    return [v for v in found if v.mandatory]


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
    "pulumi-protect-database-resources",
}


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_passes_a_preview_shaped_like_the_engines(stack):
    resources = stack_resources(stack, engine_preview=True)
    assert any(UNKNOWN in str(r.props) for r in resources), "expected unknown values"
    found = PolicyHarness(POLICIES, load_config(stack)).run(resources)
    assert [v for v in found if v.mandatory] == []
    skipped = {v.policy for v in found if "can't run policy" in v.message}
    # Only the access list's addresses are unknowable before the droplets exist.
    assert skipped <= {"mongodbatlas-access-list-no-world"}
    assert not skipped & MUST_RUN_IN_PREVIEW


def test_ssh_to_the_world_fires_in_a_preview_shaped_like_the_engines():
    resources = stack_resources(
        "prod", engine_preview=True, overrides={"adminSshSources": ["0.0.0.0/0"]}
    )
    assert names(fired("prod", resources)) == {"digitalocean-firewall-no-public-ingress"}


def test_prod_passes_with_nothing_at_all_to_report():
    found = PolicyHarness(POLICIES, load_config("prod")).run(stack_resources("prod"))
    assert found == []


def fired(stack, resources):
    return {(v.policy, v.message.splitlines()[-1]) for v in mandatory(stack, resources)}


def names(violations):
    return {policy for policy, _ in violations}


def test_ssh_open_to_the_world_in_prod_fires():
    found = fired("prod", stack_resources("prod", overrides={"adminSshSources": ["0.0.0.0/0"]}))
    assert names(found) == {"digitalocean-firewall-no-public-ingress"}
    assert any("'api-firewall': inbound rule opens tcp port 22 to 0.0.0.0/0" in m for _, m in found)


def test_dropping_the_backup_schedule_fires():
    resources = [
        r
        for r in stack_resources("prod")
        if r.type != "mongodbatlas:index/cloudBackupSchedule:CloudBackupSchedule"
    ]
    found = fired("prod", resources)
    assert names(found) == {"mongodbatlas-cluster-backup-schedule"}
    assert any("has no cloud backup schedule" in m for _, m in found)


def test_seven_day_atlas_retention_fires():
    found = fired("prod", stack_resources("prod", overrides={"atlasBackupRetentionDays": 7}))
    assert names(found) == {"mongodbatlas-cluster-backup-schedule"}
    assert any("keeps daily snapshots 7 days, less than the required 30" in m for _, m in found)


def test_removing_the_firewall_fires():
    resources = [r for r in stack_resources("prod") if r.name != "api-firewall"]
    found = fired("prod", resources)
    assert names(found) == {"digitalocean-droplet-firewall-coverage"}
    assert {m.split("'")[1] for _, m in found} == {"api-0", "api-1", "api-2"}


def test_unprotected_prod_data_fires():
    found = fired(
        "prod", stack_resources("prod", overrides={"protectData": False, "environment": "Staging"})
    )
    assert names(found) == {
        "pulumi-protect-database-resources",
        "mongodbatlas-cluster-termination-protection",
    }


def test_no_point_in_time_in_prod_fires():
    found = fired("prod", stack_resources("prod", overrides={"atlasPointInTime": False}))
    assert names(found) == {"mongodbatlas-cluster-point-in-time"}


def test_world_on_the_atlas_access_list_fires():
    resources = stack_resources("prod")
    entry = next(r for r in resources if r.name == "atlas-access-0")
    entry.props = {**entry.props, "cidrBlock": "0.0.0.0/0"}
    entry.props.pop("ipAddress")
    assert names(fired("prod", resources)) == {"mongodbatlas-access-list-no-world"}


def test_dropping_the_database_firewall_fires():
    resources = [r for r in stack_resources("prod") if r.name != "cache-valkey-firewall"]
    assert names(fired("prod", resources)) == {"digitalocean-database-firewall-coverage"}


def test_web_ports_open_to_the_world_in_prod_fire_but_not_in_dev():
    resources = stack_resources("prod")
    fw = next(r for r in resources if r.name == "api-firewall")
    fw.props = {
        **fw.props,
        "inboundRules": [
            *fw.props["inboundRules"],
            {"protocol": "tcp", "portRange": "443", "sourceAddresses": ["0.0.0.0/0"]},
        ],
    }
    assert names(fired("prod", resources)) == {"digitalocean-firewall-no-public-ingress"}
    assert mandatory("dev", stack_resources("dev")) == []


def test_secret_props_reach_the_rules_unwrapped():
    resources = stack_resources("prod")
    fw = next(r for r in resources if r.name == "api-firewall")
    fw.props = {
        **fw.props,
        "inboundRules": [
            {"protocol": "tcp", "portRange": "22", "sourceAddresses": secret(["0.0.0.0/0"])}
        ],
    }
    assert names(fired("prod", resources)) == {"digitalocean-firewall-no-public-ingress"}


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


def test_pack_pins_match_the_project():
    def pins(path):
        return {
            line.split("==")[0]: line.split("==")[1]
            for line in Path(path).read_text().splitlines()
            if "==" in line and not line.startswith("#")
        }

    project, pack = pins(ROOT / "requirements.txt"), pins(ROOT / "policies/requirements.txt")
    assert {name: project[name] for name in pack} == pack
