"""ApiLoadBalancer: the regional load balancer in front of the API fleet. It terminates
TLS with a DigitalOcean-managed Let's Encrypt certificate (issued and renewed by
DigitalOcean for a domain on its DNS) and reaches the droplets' nginx over plain HTTP
inside the VPC."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pulumi
import pulumi_digitalocean as digitalocean

from .network import Placement

HTTP_PORT = 80
"""Where the droplets' nginx listens, for the balancer's traffic and its health check."""


@dataclass(frozen=True)
class HealthCheck:
    """How the balancer decides a droplet may take traffic (DigitalOcean's defaults but
    for the healthy threshold, lowered so a recovered droplet is back in 30 s)."""

    path: str
    port: int = HTTP_PORT
    protocol: str = "http"
    interval_seconds: int = 10
    timeout_seconds: int = 5
    healthy_threshold: int = 3
    unhealthy_threshold: int = 3


@dataclass
class ApiLoadBalancerArgs:
    name: str
    """Account-unique load balancer name (e.g. matra-prod-api)."""
    placement: Placement
    droplet_tag: pulumi.Input[str]
    """The fleet's tag: droplets carrying it are the targets."""
    hostname: str
    """The API's hostname, in a zone on DigitalOcean DNS: the certificate's one name."""
    health_path: str
    """HTTP path on port 80 that nginx proxies to the app."""
    size_unit: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.size_unit <= 100:
            raise ValueError(f"ApiLoadBalancerArgs.size_unit must be 1-100, got {self.size_unit}")
        if not self.health_path.startswith("/"):
            raise ValueError(
                f"ApiLoadBalancerArgs.health_path must start with /, got {self.health_path!r}"
            )


class ApiLoadBalancer(pulumi.ComponentResource):
    ip: pulumi.Output[str]
    """Public IPv4 of the load balancer: the API's ingress address."""
    load_balancer_id: pulumi.Output[str]
    """Load balancer id (uid), for firewall rules that admit only it."""
    load_balancer_urn: pulumi.Output[str]
    """DigitalOcean URN (do:loadbalancer:...) for the stack's DigitalOcean project."""
    certificate_name: pulumi.Output[str]
    """Name of the balancer's managed certificate."""
    health_check: HealthCheck
    """The health check the balancer runs against each droplet."""

    def __init__(
        self, name: str, args: ApiLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:ApiLoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        check = HealthCheck(path=args.health_path)

        # The name carries the hostname: a new hostname is a new certificate, created
        # before the old one is deleted (Pulumi's default), and the balancer moves to it
        # in between, so it never serves without one. DigitalOcean renews it in place.
        certificate = digitalocean.Certificate(
            f"{name}-certificate",
            name=f"{args.name}-{args.hostname.replace('.', '-')}",
            type="lets_encrypt",
            domains=[args.hostname],
            opts=child,
        )
        lb = digitalocean.LoadBalancer(
            f"{name}-lb",
            name=args.name,
            region=args.placement.region,
            vpc_uuid=args.placement.vpc_uuid,
            droplet_tag=args.droplet_tag,
            size_unit=args.size_unit,
            # TLS ends here; inside the VPC the droplets' nginx serves plain HTTP. Plain
            # HTTP at the door only ever answers with a redirect.
            forwarding_rules=[
                digitalocean.LoadBalancerForwardingRuleArgs(
                    entry_protocol="http",
                    entry_port=80,
                    target_protocol="http",
                    target_port=HTTP_PORT,
                ),
                digitalocean.LoadBalancerForwardingRuleArgs(
                    entry_protocol="https",
                    entry_port=443,
                    target_protocol="http",
                    target_port=HTTP_PORT,
                    certificate_name=certificate.name,
                ),
            ],
            redirect_http_to_https=True,
            healthcheck=digitalocean.LoadBalancerHealthcheckArgs(
                protocol=check.protocol,
                port=check.port,
                path=check.path,
                check_interval_seconds=check.interval_seconds,
                response_timeout_seconds=check.timeout_seconds,
                healthy_threshold=check.healthy_threshold,
                unhealthy_threshold=check.unhealthy_threshold,
            ),
            opts=child,
        )

        self.ip = lb.ip
        self.load_balancer_id = lb.id
        self.load_balancer_urn = lb.load_balancer_urn
        self.certificate_name = certificate.name
        self.health_check = check
        self.register_outputs(
            {
                "ip": self.ip,
                "load_balancer_id": self.load_balancer_id,
                "load_balancer_urn": self.load_balancer_urn,
                "certificate_name": self.certificate_name,
                "health_check": asdict(check),
            }
        )
