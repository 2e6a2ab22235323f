"""ApiLoadBalancer: the fleet tag in the VPC, TLS terminated with a DigitalOcean-managed
Let's Encrypt certificate, plain HTTP to the droplets, the health check; a new hostname
is a new certificate, made before the old one goes."""

import pytest

from harness import build as build_component
from harness import plain, resolve, run_program
from matra import ApiLoadBalancer, ApiLoadBalancerArgs, Placement
from matra.loadbalancer import HealthCheck
from matra_policies.types import LOAD_BALANCER as LB

CERTIFICATE = "digitalocean:index/certificate:Certificate"
PLACEMENT = Placement(region="ams3", vpc_uuid="vpc-7", vpc_ip_range="10.9.0.0/20")


def build(**changes):
    args = dict(
        name="matra-test-api",
        placement=PLACEMENT,
        droplet_tag="matra-test-api",
        hostname="api.test.io",
        health_path="/healthz",
        size_unit=2,
    )
    args.update(changes)
    return build_component(lambda: ApiLoadBalancer("api", ApiLoadBalancerArgs(**args)))


def test_targets_the_fleet_tag_inside_the_vpc():
    result, lb = build()
    inputs = result.one(LB).inputs
    assert inputs["dropletTag"] == "matra-test-api"
    assert inputs["vpcUuid"] == "vpc-7"
    assert inputs["region"] == "ams3"
    assert inputs["sizeUnit"] == 2 and "size" not in inputs
    assert "dropletIds" not in inputs
    assert result.one(LB).parent.endswith("::api")
    assert resolve(lb.ip).value == "198.51.100.200"


def test_terminates_tls_with_a_managed_certificate_and_forwards_plain_http():
    result, lb = build()
    certificate = result.one(CERTIFICATE)
    assert certificate.inputs == {
        "name": "matra-test-api-api-test-io",
        "type": "lets_encrypt",
        "domains": ["api.test.io"],
    }
    inputs = result.one(LB).inputs
    rules = sorted(inputs["forwardingRules"], key=lambda r: r["entryPort"])
    assert rules == [
        {"entryProtocol": "http", "entryPort": 80, "targetProtocol": "http", "targetPort": 80},
        {
            "entryProtocol": "https",
            "entryPort": 443,
            "targetProtocol": "http",
            "targetPort": 80,
            "certificateName": "matra-test-api-api-test-io",
        },
    ]
    assert not any(rule.get("tlsPassthrough") for rule in rules)
    assert inputs["redirectHttpToHttps"] is True
    assert resolve(lb.certificate_name).value == "matra-test-api-api-test-io"


def test_health_check_on_the_health_path():
    result, lb = build(health_path="/ready")
    check = result.one(LB).inputs["healthcheck"]
    assert check == {
        "protocol": "http",
        "port": 80,
        "path": "/ready",
        "checkIntervalSeconds": 10,
        "responseTimeoutSeconds": 5,
        "healthyThreshold": 3,
        "unhealthyThreshold": 3,
    }
    assert lb.health_check == HealthCheck(path="/ready")


def test_a_new_hostname_is_a_new_certificate_made_before_the_old_one_goes():
    """A certificate's name and domains can't change in place: DigitalOcean makes a new one.
    The name carries the hostname, so the new certificate can exist beside the old one;
    the balancer reads the name from it (a dependency), so the engine creates the new
    certificate, moves the balancer to it, and deletes the old one last (Pulumi's
    create-before-delete, not turned off here: DigitalOcean refuses to delete a
    certificate a balancer still uses)."""
    before = run_program("prod")
    after = run_program("prod", overrides={"apiHostname": "api2.matra.io"})
    old, new = before.one(CERTIFICATE), after.one(CERTIFICATE)
    assert old.inputs["name"] != new.inputs["name"] == "matra-prod-api-api2-matra-io"
    assert new.inputs["domains"] == ["api2.matra.io"]
    assert new.delete_before_replace is False
    lb = after.one(LB)
    assert new.urn in lb.property_dependencies["forwardingRules"]
    (https,) = [r for r in plain(lb.inputs["forwardingRules"]) if r["entryPort"] == 443]
    assert https["certificateName"] == new.inputs["name"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"size_unit": 0}, "size_unit must be 1-100"),
        ({"health_path": "healthz"}, "health_path must start with /"),
    ],
)
def test_args_are_validated(change, message):
    args = dict(
        name="n", placement=PLACEMENT, droplet_tag="t", hostname="api.test.io", health_path="/h"
    )
    args.update(change)
    with pytest.raises(ValueError, match=message):
        ApiLoadBalancerArgs(**args)
