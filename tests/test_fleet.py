"""DropletFleet: stable index names, firewall, backups, tags, user data."""

from dataclasses import replace

import pytest

from harness import LOGIN, fake_id, plain, resolve, run_program
from harness import build as build_component
from matra import DropletFleet, DropletFleetArgs, Placement
from matra.settings import BackupPolicy, FleetSettings
from matra_policies.types import DROPLET, FIREWALL

PLACEMENT = Placement(region="fra1", vpc_uuid="vpc-1", vpc_ip_range="10.9.0.0/20")


FLEET = FleetSettings(
    region="fra1",
    vpc_ip_range="10.9.0.0/20",
    droplet_count=2,
    droplet_size="s-1vcpu-2gb",
    droplet_image="ubuntu-24-04-x64",
    backup_policy=None,
    load_balancer=True,
    load_balancer_size_unit=1,
    app_port=8080,
    health_path="/healthz",
    api_hostname="api.test.io",
    dns_zone=None,
)


def fleet_args(count=2, backup_policy=None, load_balancer=True, **changes):
    args = dict(
        name_prefix="matra-test-api",
        placement=PLACEMENT,
        fleet_tag="matra-test-api",
        login=LOGIN,
        settings=replace(
            FLEET, droplet_count=count, backup_policy=backup_policy, load_balancer=load_balancer
        ),
        deploy_user="deploy",
        tags=["matra", "role:api"],
        load_balancer_uid="lb-uid",
    )
    args.update(changes)
    return DropletFleetArgs(**args)


def build(**changes):
    return build_component(lambda: DropletFleet("api", fleet_args(**changes)))


def test_scaling_three_to_four_adds_one_droplet_and_touches_none():
    three = run_program("prod")
    four = run_program("prod", overrides={"dropletCount": 4})
    before = {d.urn: d.inputs for d in three.of_type(DROPLET)}
    after = {d.urn: d.inputs for d in four.of_type(DROPLET)}
    assert set(before) < set(after) and len(after) - len(before) == 1
    assert [u.rsplit("::", 1)[1] for u in sorted(set(after) - set(before))] == ["api-3"]
    for urn, inputs in before.items():
        assert after[urn] == inputs, f"{urn} would change when scaling"


def test_droplet_details():
    result, _ = build()
    droplets = sorted(result.of_type(DROPLET), key=lambda d: d.name)
    assert [d.inputs["name"] for d in droplets] == ["matra-test-api-0", "matra-test-api-1"]
    for droplet in droplets:
        assert droplet.inputs["vpcUuid"] == "vpc-1"
        assert droplet.inputs["region"] == "fra1"
        assert droplet.inputs["sshKeys"] == ["111"]
        assert droplet.inputs["monitoring"] is True
        assert droplet.inputs["backups"] is False
        assert droplet.inputs["tags"] == ["matra-test-api", "matra", "role:api"]
        assert droplet.ignore_changes == []
        # The firewall exists before any droplet boots.
        assert result.one(FIREWALL).urn in droplet.dependencies
        # Each droplet is its API host's, which is the fleet's.
        assert droplet.parent.endswith(
            "matra:index:DropletFleet$matra:index:ApiHost::" + droplet.name
        )


def test_a_replacement_droplet_is_created_before_the_old_one_goes():
    # The provider asks for delete-before-replace (it reads the explicit name as one that
    # must be unique); the real engine's plan showed it deleting every droplet first
    # (test_engine_changes.py). The program says otherwise, explicitly.
    result, _ = build()
    for droplet in result.of_type(DROPLET):
        assert droplet.delete_before_replace_defined
        assert not droplet.delete_before_replace


def test_outputs_are_in_index_order():
    _, fleet = build(count=3)
    names = resolve(fleet.droplet_names).value
    assert names == ["matra-test-api-0", "matra-test-api-1", "matra-test-api-2"]
    public = resolve(fleet.public_ipv4s).value
    private = resolve(fleet.private_ipv4s).value
    assert len(public) == len(private) == 3 and len(set(public)) == 3


def test_backups_with_policy():
    result, _ = build(backup_policy=BackupPolicy(plan="daily", weekday="TUE", hour=8))
    for droplet in result.of_type(DROPLET):
        assert droplet.inputs["backups"] is True
        assert droplet.inputs["backupPolicy"] == {"plan": "daily", "weekday": "TUE", "hour": 8}


def test_firewall_ingress_and_egress():
    result, _ = build()
    firewall = result.one(FIREWALL)
    assert firewall.inputs["tags"] == ["matra-test-api"]
    inbound = {(r["protocol"], r.get("portRange")): r for r in firewall.inputs["inboundRules"]}
    assert inbound[("tcp", "22")]["sourceAddresses"] == ["198.51.100.0/24"]
    # TLS ends at the balancer: it reaches nginx on 80 alone.
    assert inbound[("tcp", "80")]["sourceLoadBalancerUids"] == ["lb-uid"]
    assert ("tcp", "443") not in inbound
    assert inbound[("icmp", None)]["sourceAddresses"] == ["10.9.0.0/20"]
    assert len(inbound) == 3
    outbound = {
        (r["protocol"], r.get("portRange")): r["destinationAddresses"]
        for r in firewall.inputs["outboundRules"]
    }
    anywhere = ["0.0.0.0/0", "::/0"]
    assert {key for key, dest in outbound.items() if dest == anywhere} == {
        ("udp", "53"),
        ("tcp", "53"),
        ("udp", "123"),
        ("tcp", "80"),
        ("tcp", "443"),
        ("tcp", "27017"),
        ("icmp", None),
    }
    assert outbound[("tcp", "1-65535")] == outbound[("udp", "1-65535")] == ["10.9.0.0/20"]


def test_web_open_to_anywhere_without_a_load_balancer():
    result, _ = build(count=1, load_balancer=False)
    inbound = result.one(FIREWALL).inputs["inboundRules"]
    web = [r for r in inbound if r.get("portRange") in ("80", "443")]
    assert [r["sourceAddresses"] for r in web] == [["0.0.0.0/0", "::/0"]] * 2


def test_the_lone_droplets_reserved_ip_is_its_own_and_moves_only_once_a_new_one_serves():
    result = run_program("dev")
    reserved = result.one("digitalocean:index/reservedIp:ReservedIp")
    droplet = next(d for d in result.of_type(DROPLET) if d.name == "api-0")  # (and the cache)
    assert reserved.inputs["dropletId"] == int(fake_id(droplet.type, droplet.name))
    assert result.by_name("hosts-api-0-release").urn in reserved.dependencies
    assert result.stack_outputs["ingressIp"] == reserved.outputs["ipAddress"]


def test_user_data_is_the_first_boot_alone():
    """Users, the automation key, the host key: what lasts the droplet's life. What the
    app needs (Docker, nginx, the deploy key) arrives with HostSetup, so changing it
    replaces no droplet."""
    result, _ = build()
    for droplet in result.of_type(DROPLET):
        user_data = plain(droplet.inputs["userData"])
        assert user_data.startswith("#cloud-config\n")
        assert '"ssh-ed25519 AAAAC3Nz automation"' in user_data
        assert '- name: "deploy"' in user_data
        for later in (
            "docker",
            "nginx",
            "proxy_pass",
            "/opt/matra",
            'ssh_authorized_keys:\n      - "ssh-ed25519 AAAAC3Nz deploy',
        ):
            assert later not in user_data, later


def test_each_droplet_is_made_only_once_the_one_before_serves():
    """Creating (or replacing) droplet N waits for droplet N-1's setup to finish (its
    release running): the fleet changes one droplet at a time, each serving before the
    next is touched."""
    result = run_program("prod")
    droplets = {d.name: d for d in result.of_type(DROPLET)}
    firewall = result.one(FIREWALL).urn
    readies = {result.by_name(f"hosts-api-{i}-release").urn: i for i in range(3)}
    for index in range(3):
        waits_for = {readies[u] for u in droplets[f"api-{index}"].dependencies if u in readies}
        assert waits_for == ({index - 1} if index else set()), index
        assert firewall in droplets[f"api-{index}"].dependencies


def test_a_hosts_release_starts_only_once_the_database_lets_it_in():
    result = run_program("prod")
    for index in range(3):
        release = result.by_name(f"hosts-api-{index}-release")
        assert result.by_name(f"atlas-access-{index}").urn in release.dependencies


@pytest.mark.parametrize(
    "change, message",
    [
        ({"count": 0}, "count must be at least 1"),
        (
            {"count": 2, "load_balancer": False},
            "without a load balancer the reserved IP needs exactly one droplet",
        ),
        ({"load_balancer_uid": ""}, "load_balancer_uid must name the balancer"),
        (
            {"login": replace(LOGIN, admin_ssh_sources=[])},
            "admin_ssh_sources must name at least one CIDR",
        ),
    ],
)
def test_args_are_validated(change, message):
    with pytest.raises(ValueError, match=message):
        fleet_args(**change)
