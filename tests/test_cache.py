"""RedisNode: managed Valkey behind a database firewall, or a redis-server droplet that
gets its password over SSH on stdin; the URL is a secret either way."""

import pytest

from harness import LOGIN, fake_id, is_secret_input, plain, resolve, run_program
from harness import build as build_component
from matra import Cache, CacheArgs, Placement
from matra.cache import redis_configure_script
from matra.hostfiles import HostStep
from matra.settings import RedisSettings
from matra_policies.types import DATABASE_CLUSTER as DB
from matra_policies.types import DATABASE_FIREWALL as DB_FIREWALL
from matra_policies.types import DROPLET, FIREWALL
from matra_policies.types import REMOTE_COMMAND as COMMAND

MANAGED = RedisSettings(mode="managed", size="db-s-1vcpu-2gb", node_count=2, version="8")
DROPLET_MODE = RedisSettings(mode="droplet", size="s-1vcpu-1gb", node_count=1, version="8")


def build(settings, login=LOGIN):
    return build_component(
        lambda: Cache(
            "cache",
            CacheArgs(
                name="matra-test-cache",
                settings=settings,
                placement=Placement(region="fra1", vpc_uuid="vpc-1", vpc_ip_range="10.9.0.0/20"),
                client_tag="matra-test-api",
                tags=["matra"],
                login=login,
            ),
        )
    )


def test_managed_valkey_in_the_vpc_behind_a_tag_only_firewall():
    result, cache = build(MANAGED)
    db = result.one(DB).inputs
    assert db["engine"] == "valkey" and db["version"] == "8"
    assert db["size"] == "db-s-1vcpu-2gb" and db["nodeCount"] == 2
    assert db["privateNetworkUuid"] == "vpc-1" and db["region"] == "fra1"
    assert result.one(DB_FIREWALL).inputs["rules"] == [{"type": "tag", "value": "matra-test-api"}]
    assert result.of_type(DROPLET) == [] and result.of_type(COMMAND) == []
    url = resolve(cache.url)
    assert url.secret is True and url.value.startswith("rediss://default:")
    assert resolve(cache.host).secret is False


def test_droplet_mode_firewall_admits_6379_only_from_the_fleet_tag():
    result, _ = build(DROPLET_MODE)
    firewall = result.one(FIREWALL).inputs
    assert firewall["tags"] == ["matra-test-cache"]
    inbound = {r["portRange"]: r for r in firewall["inboundRules"]}
    assert set(inbound) == {"22", "6379"}
    assert inbound["6379"]["sourceTags"] == ["matra-test-api"]
    assert "sourceAddresses" not in inbound["6379"]
    assert inbound["22"]["sourceAddresses"] == ["198.51.100.0/24"]
    to_world = {
        (r["protocol"], r.get("portRange"))
        for r in firewall["outboundRules"]
        if r["destinationAddresses"] == ["0.0.0.0/0", "::/0"]
    }
    assert to_world == {
        ("udp", "53"),
        ("tcp", "53"),
        ("udp", "123"),
        ("tcp", "80"),
        ("tcp", "443"),
        ("icmp", None),
    }
    droplet = result.one(DROPLET)
    assert droplet.inputs["vpcUuid"] == "vpc-1"
    assert droplet.inputs["size"] == "s-1vcpu-1gb"
    assert "matra-test-cache" in droplet.inputs["tags"]
    assert result.one(FIREWALL).urn in droplet.dependencies
    assert result.of_type(DB) == []


def test_droplet_mode_password_travels_on_stdin_only():
    result, cache = build(DROPLET_MODE)
    command = result.one(COMMAND).inputs
    password = plain(command["stdin"])
    assert is_secret_input(command["stdin"]) and len(password) >= 32
    assert password not in command["create"]
    assert password not in plain(result.one(DROPLET).inputs["userData"])
    droplet = result.one(DROPLET).state
    public, private = droplet["ipv4Address"], droplet["ipv4AddressPrivate"]
    connection = plain(command["connection"])
    assert connection["user"] == "ops" and connection["host"] == public
    assert connection["privateKey"] == "AUTOMATION-PRIVATE-KEY"
    assert is_secret_input(command["connection"])
    step = HostStep.read(command["create"])
    assert (step.script, step.params) == ("redis-configure.sh", {"MATRA_PRIVATE_IP": private})
    assert command["triggers"] == [fake_id(DROPLET, "cache-droplet"), private]
    url = resolve(cache.url)
    assert url.secret is True
    assert url.value == f"redis://default:{password}@{private}:6379/0"
    assert resolve(cache.host).value == private


def test_droplet_mode_needs_a_login():
    with pytest.raises(ValueError, match="login is required"):
        CacheArgs(
            name="c",
            settings=DROPLET_MODE,
            placement=Placement(region="fra1", vpc_uuid="v", vpc_ip_range="10.9.0.0/20"),
            client_tag="t",
        )


def test_configure_script_quotes_its_parameter():
    command = redis_configure_script("10.0.0.1; rm -rf /")
    assert "MATRA_PRIVATE_IP='10.0.0.1; rm -rf /'\n" in command
    assert HostStep.read(command).params == {"MATRA_PRIVATE_IP": "10.0.0.1; rm -rf /"}


@pytest.mark.parametrize(
    "stack, mode", [("dev", "droplet"), ("staging", "managed"), ("prod", "managed")]
)
def test_stack_cache_mode_matches_the_matrix(stack, mode):
    program = run_program(stack)
    assert program.error is None, program.error
    if mode == "managed":
        assert program.one(DB).inputs["engine"] == "valkey"
        rules = program.one(DB_FIREWALL).inputs["rules"]
        assert rules == [{"type": "tag", "value": f"matra-{stack}-api"}]
    else:
        assert program.of_type(DB) == []
        assert program.by_name("cache-droplet").inputs["size"] == "s-1vcpu-1gb"
    assert program.outputs["redisUrl"].secret is True
    assert program.outputs["redisHost"].secret is False


def test_cache_user_data_keeps_redis_stopped_until_configured_and_private():
    """(test_cloudinit.py checks it against cloud-init's schema, with every stack's.)"""
    program = run_program("dev")
    document = plain(program.by_name("cache-droplet").inputs["userData"])
    assert "[systemctl, disable, --now, redis-server]" in document
    assert '[ufw, allow, from, "10.10.0.0/20", to, any, port, "6379", proto, tcp]' in document
