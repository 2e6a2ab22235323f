"""Every case the public DigitalOcean checks catch, this pack catches: Trivy DIG-0001..0004
and Checkov CKV_DIO_2/4. Trivy and Checkov flag any public ingress or egress; with its
strictest config (no public ports, no egress ports) the pack does too, and the shipped
staging and prod configs are that strict for ingress."""

import pytest

from matra_policies import network
from matra_policies.common import DROPLET, FIREWALL, LOAD_BALANCER
from matra_policies.testing import Resource, assert_violation, load_config

STRICT_INGRESS = {"publicPorts": [], "allowSshFromAnywhere": False}
STRICT_EGRESS = {"allowedPorts": [], "allowIcmp": False}
PORTS = ["22", "80", "443", "3306", "1-65535", "", None]


@pytest.mark.parametrize("source", ["0.0.0.0/0", "::/0"])
@pytest.mark.parametrize("protocol, port", [("tcp", p) for p in PORTS] + [("udp", "53"),
                                                                           ("icmp", None)])
def test_dig_0001_and_ckv_dio_4_public_ingress(source, protocol, port):
    fw = Resource(FIREWALL, "fw", {"inboundRules": [
        {"protocol": protocol, "portRange": port, "sourceAddresses": [source]}]})
    assert_violation(network.no_public_ingress, fw, contains=f"to {source}",
                     config=STRICT_INGRESS)


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_shipped_load_balanced_stacks_are_as_strict_as_trivy_on_ingress(stack):
    config = load_config(stack)["digitalocean-firewall-no-public-ingress"]
    assert config["publicPorts"] == [] and config["allowSshFromAnywhere"] is False


def test_dig_0002_load_balancer_plain_http():
    lb = Resource(LOAD_BALANCER, "lb", {"forwardingRules": [
        {"entryProtocol": "http", "entryPort": 80, "targetProtocol": "http", "targetPort": 80}]})
    assert_violation(network.no_plain_http, lb, contains="serves plain HTTP")


@pytest.mark.parametrize("destination", ["0.0.0.0/0", "::/0"])
@pytest.mark.parametrize("protocol, port", [("tcp", p) for p in PORTS] + [("icmp", None)])
def test_dig_0003_public_egress(destination, protocol, port):
    fw = Resource(FIREWALL, "fw", {"outboundRules": [
        {"protocol": protocol, "portRange": port, "destinationAddresses": [destination]}]})
    assert_violation(network.restricted_egress, fw, contains=f"to {destination}",
                     config=STRICT_EGRESS)


@pytest.mark.parametrize("props", [{}, {"sshKeys": []}])
def test_dig_0004_and_ckv_dio_2_droplet_without_ssh_keys(props):
    assert_violation(network.ssh_keys, Resource(DROPLET, "d", props), contains="no SSH keys")
