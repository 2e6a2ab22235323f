"""Every case the public DigitalOcean checks catch, this pack catches: Trivy DIG-0001..0004
and Checkov CKV_DIO_2/4. Trivy flags any public network of more than one address as
open ingress or egress; with its strictest config (no public ports, no egress ports,
worldPrefixV4/V6 at 32/128) the pack does too."""

import pytest

from matra_policies import POLICIES, network
from matra_policies.types import DROPLET, FIREWALL, LOAD_BALANCER
from policy_harness import PolicyHarness, Resource, assert_violation, effective_config

TRIVY_WIDTH = {"worldPrefixV4": 32, "worldPrefixV6": 128}
STRICT_INGRESS = {"publicPorts": [], "allowSshFromAnywhere": False, **TRIVY_WIDTH}
STRICT_EGRESS = {"allowedPorts": [], "allowIcmp": False, **TRIVY_WIDTH}
# What Trivy counts as public: the whole internet, halves of it, a /8, one public /28.
PUBLIC = [
    "0.0.0.0/0",
    "::/0",
    "0.0.0.0/1",
    "128.0.0.0/1",
    "8.0.0.0/8",
    "81.2.69.0/28",
    "::/1",
    "2a00::/16",
]
PORTS = ["22", "80", "443", "3306", "1-65535", "", None]


@pytest.mark.parametrize("source", PUBLIC)
@pytest.mark.parametrize(
    "protocol, port", [("tcp", p) for p in PORTS] + [("udp", "53"), ("icmp", None)]
)
def test_dig_0001_and_ckv_dio_4_public_ingress(source, protocol, port):
    fw = Resource(
        FIREWALL,
        "fw",
        {"inboundRules": [{"protocol": protocol, "portRange": port, "sourceAddresses": [source]}]},
    )
    assert_violation(network.no_public_ingress, fw, contains=f"to {source}", config=STRICT_INGRESS)


@pytest.mark.parametrize("source", ["10.0.0.0/8", "fd00::/8", "203.0.113.7/32"])
def test_private_networks_and_single_addresses_are_not_public(source):
    fw = Resource(
        FIREWALL,
        "fw",
        {"inboundRules": [{"protocol": "tcp", "portRange": "22", "sourceAddresses": [source]}]},
    )
    found = PolicyHarness(
        [network.no_public_ingress], {network.no_public_ingress.name: STRICT_INGRESS}
    ).analyze(fw)
    assert found == []


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_shipped_load_balanced_stacks_open_no_public_port(stack):
    config = effective_config(POLICIES, stack, "digitalocean-firewall-no-public-ingress")
    assert config["publicPorts"] == [] and config["allowSshFromAnywhere"] is False
    assert config["enforcementLevel"] == "mandatory"


def test_dig_0002_load_balancer_plain_http():
    lb = Resource(
        LOAD_BALANCER,
        "lb",
        {
            "forwardingRules": [
                {
                    "entryProtocol": "http",
                    "entryPort": 80,
                    "targetProtocol": "http",
                    "targetPort": 80,
                }
            ]
        },
    )
    assert_violation(network.no_plain_http, lb, contains="serves plain HTTP")


@pytest.mark.parametrize("destination", PUBLIC)
@pytest.mark.parametrize("protocol, port", [("tcp", p) for p in PORTS] + [("icmp", None)])
def test_dig_0003_public_egress(destination, protocol, port):
    fw = Resource(
        FIREWALL,
        "fw",
        {
            "outboundRules": [
                {"protocol": protocol, "portRange": port, "destinationAddresses": [destination]}
            ]
        },
    )
    assert_violation(
        network.restricted_egress, fw, contains=f"to {destination}", config=STRICT_EGRESS
    )


@pytest.mark.parametrize("props", [{}, {"sshKeys": []}])
def test_dig_0004_and_ckv_dio_2_droplet_without_ssh_keys(props):
    assert_violation(network.ssh_keys, Resource(DROPLET, "d", props), contains="no SSH keys")
