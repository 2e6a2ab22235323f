"""Ingress: how the API is reached from outside, whichever way the stack is built.

- Behind a load balancer (``loadBalancer: true``): the balancer with its
  DigitalOcean-managed certificate, and no certbot on any droplet (what an earlier
  per-droplet setup left is removed).
- A lone droplet: a reserved IP on it, taken once it serves, and certbot on it over
  HTTP-01 once the name and the address reach it.
- Either way the API hostname's A record, when its zone is on DigitalOcean DNS.

It comes after the fleet (the reserved IP and certbot need its first host); the fleet's
firewall admits the balancer by its id, which the program hands the fleet before the
balancer exists (``balancer_uid``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean

from .fleet import DropletFleet
from .hosts import CertbotRemoval, CertbotRemovalArgs, CertbotSetup, CertbotSetupArgs
from .loadbalancer import ApiLoadBalancer, ApiLoadBalancerArgs, HealthCheck
from .network import Placement
from .settings import FleetSettings, TlsSettings
from .ssh import SshAccount, moved

# Each of these was the stack's own child, or the fleet's, before this component held them.
AT_ROOT = [pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]


@contextmanager
def balancer_uid() -> Iterator[tuple[pulumi.Output[str], Callable[[pulumi.Output[str]], None]]]:
    """The balancer's id before the balancer exists, for the fleet's firewall: a deferred
    output, and what hands it over (``admit(ingress.load_balancer_uid)``) inside the
    block. A block that ends without it, or raises first, hands over that failure, so
    what waits for the id fails with the program instead of waiting for ever."""
    uid: pulumi.Output[str]
    resolve: Callable[[pulumi.Output[str]], None]
    uid, resolve = pulumi.deferred_output()
    admitted: list[bool] = []

    def admit(value: pulumi.Output[str]) -> None:
        admitted.append(True)
        resolve(value)

    def fail(error: BaseException) -> None:
        def raise_(_: object) -> str:
            raise error

        resolve(pulumi.Output.from_input("").apply(raise_))

    try:
        yield uid, admit
    except BaseException as error:
        if not admitted:
            fail(error)
        raise
    if not admitted:
        fail(RuntimeError("balancer_uid(): the block never admitted the ingress's balancer"))


@dataclass
class IngressArgs:
    name: str
    """The stack's name prefix (e.g. matra-prod): the balancer is <name>-api."""
    fleet: DropletFleet
    settings: FleetSettings
    tls: TlsSettings
    placement: Placement
    account: SshAccount
    """Who certbot (or its removal) runs as on the hosts."""


class Ingress(pulumi.ComponentResource):
    ip: pulumi.Output[str]
    """The API's public address: the balancer's, or the lone droplet's reserved IP."""
    address_urn: pulumi.Output[str]
    """DigitalOcean URN of the balancer or reserved IP, for the stack's project."""
    load_balancer_uid: pulumi.Output[str]
    """The balancer's id ("" without one): what the fleet's firewall admits on 80."""
    load_balancer_id: pulumi.Output[str] | None
    """The balancer's id for its alerts; None without one."""
    health_check: HealthCheck
    """How the balancer (or, without one, the deploy) checks a host."""

    def __init__(
        self, name: str, args: IngressArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:Ingress", name, None, opts)
        fleet, settings = args.fleet, args.settings
        here = pulumi.ResourceOptions(parent=self, aliases=AT_ROOT)
        hostname = settings.api_hostname

        balancer = None
        reserved = None
        if settings.load_balancer:
            balancer = ApiLoadBalancer(
                "api",
                ApiLoadBalancerArgs(
                    name=f"{args.name}-api",
                    placement=args.placement,
                    droplet_tag=fleet.fleet_tag,
                    hostname=hostname,
                    health_path=settings.health_path,
                    size_unit=settings.load_balancer_size_unit,
                ),
                opts=here,
            )
            self.ip, self.address_urn = balancer.ip, balancer.load_balancer_urn
            self.load_balancer_uid = balancer.load_balancer_id
            self.load_balancer_id = balancer.load_balancer_id
            self.health_check = balancer.health_check
        else:
            first = fleet.api_hosts[0]
            reserved = digitalocean.ReservedIp(
                "api-ip",
                region=args.placement.region,
                droplet_id=first.droplet.id.apply(int),
                # A new droplet takes the address once it serves the current release.
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[first.ready], aliases=moved(fleet)
                ),
            )
            self.ip, self.address_urn = reserved.ip_address, reserved.reserved_ip_urn
            self.load_balancer_uid = pulumi.Output.from_input("")
            self.load_balancer_id = None
            self.health_check = HealthCheck(settings.health_path)

        record = None
        if settings.dns_zone is not None:
            record = digitalocean.DnsRecord(
                "api-dns",
                domain=settings.dns_zone,
                type="A",
                name=settings.dns_record_name,
                value=self.ip,
                ttl=300,
                opts=here,
            )

        # TLS: the balancer holds the certificate; only once it terminates TLS itself may
        # the droplets drop what an earlier per-droplet certbot setup left. A lone
        # droplet gets its own, once its nginx runs and the name and address reach it.
        if balancer is not None:
            CertbotRemoval(
                "tls",
                CertbotRemovalArgs(hosts=fleet.hosts, account=args.account),
                opts=pulumi.ResourceOptions.merge(
                    here, pulumi.ResourceOptions(depends_on=[balancer])
                ),
            )
        else:
            assert reserved is not None
            CertbotSetup(
                "tls",
                CertbotSetupArgs(
                    host=fleet.hosts[0],
                    account=args.account,
                    hostname=hostname,
                    email=args.tls.email,
                    acme_directory_url=args.tls.acme_directory_url,
                ),
                opts=pulumi.ResourceOptions.merge(
                    here,
                    pulumi.ResourceOptions(
                        depends_on=[
                            fleet.api_hosts[0].ready,
                            reserved,
                            *([record] if record else []),
                        ]
                    ),
                ),
            )
        self.register_outputs({"ip": self.ip})
