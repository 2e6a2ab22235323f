"""ApiLoadBalancer: the regional load balancer in front of the API fleet."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean

from .network import Placement


@dataclass
class ApiLoadBalancerArgs:
    name: pulumi.Input[str]
    """Account-unique load balancer name."""
    placement: Placement
    droplet_tag: pulumi.Input[str]
    """The fleet's tag: droplets carrying it are the targets."""
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

    def __init__(
        self, name: str, args: ApiLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:ApiLoadBalancer", name, None, opts)

        lb = digitalocean.LoadBalancer(
            f"{name}-lb",
            name=args.name,
            region=args.placement.region,
            vpc_uuid=args.placement.vpc_uuid,
            droplet_tag=args.droplet_tag,
            size_unit=args.size_unit,
            # Certificates live on the droplets (CertbotSetup), so 443 passes TLS
            # through untouched; plain HTTP only ever answers with a redirect.
            forwarding_rules=[
                digitalocean.LoadBalancerForwardingRuleArgs(
                    entry_protocol="http", entry_port=80, target_protocol="http", target_port=80
                ),
                digitalocean.LoadBalancerForwardingRuleArgs(
                    entry_protocol="https",
                    entry_port=443,
                    target_protocol="https",
                    target_port=443,
                    tls_passthrough=True,
                ),
            ],
            redirect_http_to_https=True,
            healthcheck=digitalocean.LoadBalancerHealthcheckArgs(
                protocol="http",
                port=80,
                path=args.health_path,
                check_interval_seconds=10,
                response_timeout_seconds=5,
                healthy_threshold=3,
                unhealthy_threshold=3,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.ip = lb.ip
        self.load_balancer_id = lb.id
        self.load_balancer_urn = lb.load_balancer_urn
        self.register_outputs(
            {
                "ip": self.ip,
                "load_balancer_id": self.load_balancer_id,
                "load_balancer_urn": self.load_balancer_urn,
            }
        )
