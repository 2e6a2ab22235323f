"""Breaking one thing at a time in a shipped stack makes exactly the matching rule fire
(mandatory), with a message that names the resource."""

import pytest

from policy_harness import mandatory, secret, stack_resources


def fired(stack, resources):
    return {(v.policy, v.message.splitlines()[-1]) for v in mandatory(stack, resources)}


def names(violations):
    return {policy for policy, _ in violations}


def test_ssh_to_the_world_fires_in_a_preview_shaped_like_the_engines():
    resources = stack_resources(
        "prod", engine_preview=True, overrides={"adminSshSources": ["0.0.0.0/0"]}
    )
    assert names(fired("prod", resources)) == {"digitalocean-firewall-no-public-ingress"}


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


@pytest.mark.parametrize("engine_preview", [False, True], ids=["update", "new-stack-preview"])
def test_removing_the_firewall_fires(engine_preview):
    # In a preview of a new stack the droplets' ids are unknown: the rule still runs.
    resources = [
        r
        for r in stack_resources("prod", engine_preview=engine_preview)
        if r.name != "api-firewall"
    ]
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


@pytest.mark.parametrize("engine_preview", [False, True], ids=["update", "new-stack-preview"])
def test_dropping_the_database_firewall_fires(engine_preview):
    resources = [
        r
        for r in stack_resources("prod", engine_preview=engine_preview)
        if r.name != "cache-valkey-firewall"
    ]
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


def test_passing_tls_through_to_droplets_without_certificates_fires():
    resources = stack_resources("prod")
    lb = next(r for r in resources if r.name == "api-lb")
    rules = [
        {**rule, "tlsPassthrough": True, "targetProtocol": "https", "targetPort": 443}
        for rule in lb.props["forwardingRules"]
        if rule["entryPort"] == 443
    ]
    for rule in rules:
        rule.pop("certificateName")
    lb.props = {**lb.props, "forwardingRules": rules}
    found = fired("prod", resources)
    assert names(found) == {"digitalocean-loadbalancer-tls-termination"}
    assert any("(api-0, api-1, api-2)" in m for _, m in found)


def test_a_dns_token_sent_to_a_host_behind_the_balancer_fires():
    resources = stack_resources("prod")
    command = next(r for r in resources if r.name == "tls-api-1")
    command.props = {**command.props, "stdin": secret("dop_v1_" + "ab" * 32)}
    found = fired("prod", resources)
    assert names(found) == {"digitalocean-no-token-on-balanced-hosts"}
    assert any(
        "'tls-api-1': carries a DigitalOcean token to its host (in stdin)" in m for _, m in found
    )
