"""Ingress: the balancer or the lone droplet's reserved IP and certbot, the DNS record; and
the balancer's id reaching the fleet's firewall made before the balancer."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pulumi_digitalocean as digitalocean
import pytest

from harness import run, run_program
from matra.ingress import balancer_uid
from matra_policies.types import FIREWALL

LOAD_BALANCER = "digitalocean:index/loadBalancer:LoadBalancer"
RESERVED_IP = "digitalocean:index/reservedIp:ReservedIp"


@contextmanager
def no_longer_than(seconds: int) -> Iterator[None]:
    """A program that waits for ever fails the test instead of hanging it."""

    def stop(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def firewall_admitting(uid) -> digitalocean.Firewall:
    return digitalocean.Firewall(
        "fw",
        tags=["t"],
        inbound_rules=[
            digitalocean.FirewallInboundRuleArgs(
                protocol="tcp", port_range="80", source_load_balancer_uids=[uid]
            )
        ],
    )


def test_the_fleets_firewall_admits_the_balancer_made_after_it():
    result = run_program("prod")
    balancer = result.one(LOAD_BALANCER)
    firewall = result.one(FIREWALL)
    web = [r for r in firewall.inputs["inboundRules"] if r.get("portRange") == "80"]
    assert [r["sourceLoadBalancerUids"] for r in web] == [[balancer.id]]
    assert balancer.urn in firewall.dependencies
    assert not result.of_type(RESERVED_IP)
    assert result.by_name("api-dns").inputs["value"] == balancer.outputs["ip"]


def test_the_lone_droplet_is_reached_by_its_reserved_ip_and_gets_its_own_certificate():
    result = run_program("dev")
    assert not result.of_type(LOAD_BALANCER)
    reserved = result.one(RESERVED_IP)
    certbot = result.by_name("tls-api-0")
    assert result.by_name("api-dns").inputs["value"] == reserved.outputs["ipAddress"]
    tls = result.by_name("tls")
    assert {reserved.urn, result.by_name("api-dns").urn} <= set(tls.dependencies)
    assert certbot.parent == tls.urn


@pytest.mark.parametrize(
    "block, error",
    [
        ("raises", "the fleet's args were wrong"),
        ("forgets", "never admitted the ingress's balancer"),
    ],
)
def test_a_block_that_fails_before_admitting_fails_the_program_instead_of_hanging(block, error):
    def program() -> None:
        with balancer_uid() as (uid, _admit):
            firewall_admitting(uid)
            if block == "raises":
                raise ValueError("the fleet's args were wrong")

    with no_longer_than(60):
        result = run(program)
    assert error in str(result.error)
