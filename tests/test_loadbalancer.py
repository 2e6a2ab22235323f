"""ApiLoadBalancer: fleet tag in the VPC, 80/443 with TLS passthrough, health check."""

import pytest

from components import ApiLoadBalancer, ApiLoadBalancerArgs, Placement
from harness import build as build_component
from harness import resolve
from matra_policies.types import LOAD_BALANCER as LB


def build(**changes):
    args = dict(
        name="matra-test-api",
        placement=Placement(region="ams3", vpc_uuid="vpc-7", vpc_ip_range="10.9.0.0/20"),
        droplet_tag="matra-test-api",
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


def test_forwards_80_and_passes_tls_through_on_443():
    result, _ = build()
    inputs = result.one(LB).inputs
    rules = sorted(inputs["forwardingRules"], key=lambda r: r["entryPort"])
    assert rules == [
        {"entryProtocol": "http", "entryPort": 80, "targetProtocol": "http", "targetPort": 80},
        {
            "entryProtocol": "https",
            "entryPort": 443,
            "targetProtocol": "https",
            "targetPort": 443,
            "tlsPassthrough": True,
        },
    ]
    assert inputs["redirectHttpToHttps"] is True


def test_health_check_on_the_health_path():
    result, _ = build(health_path="/ready")
    check = result.one(LB).inputs["healthcheck"]
    assert check["protocol"] == "http" and check["port"] == 80 and check["path"] == "/ready"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"size_unit": 0}, "size_unit must be 1-100"),
        ({"health_path": "healthz"}, "health_path must start with /"),
    ],
)
def test_args_are_validated(change, message):
    args = dict(
        name="n",
        placement=Placement(region="ams3", vpc_uuid="v", vpc_ip_range="r"),
        droplet_tag="t",
        health_path="/h",
    )
    args.update(change)
    with pytest.raises(ValueError, match=message):
        ApiLoadBalancerArgs(**args)
