"""What the stack shows of itself: the DigitalOcean project that groups its resources in
the control panel, and the stack outputs the app's deploy command and operators read
(`pulumi stack output --json`; docs/outputs.md says what each is)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pulumi
import pulumi_digitalocean as digitalocean

from .access import SshAccess
from .atlas import AtlasCluster
from .cache import Cache
from .fleet import DropletFleet
from .hostsetup import HostSetup
from .ingress import Ingress
from .network import Network
from .pricing import CostEstimate
from .settings import StackSettings


def project(
    settings: StackSettings, fleet: DropletFleet, cache: Cache, ingress: Ingress
) -> digitalocean.Project:
    """The stack's project: its droplets and its public address."""
    return digitalocean.Project(
        "project",
        name=settings.name_prefix,
        description=f"Matra backend, {settings.stack} stack (managed by Pulumi)",
        purpose="Web Application",
        environment=settings.environment,
        resources=pulumi.Output.all(fleet.droplet_urns, cache.urns, ingress.address_urn).apply(
            lambda urns: [*urns[0], *urns[1], urns[2]]
        ),
    )


def export(
    settings: StackSettings,
    cost: CostEstimate,
    network: Network,
    access: SshAccess,
    atlas: AtlasCluster,
    cache: Cache,
    hosts: HostSetup,
    fleet: DropletFleet,
    ingress: Ingress,
) -> None:
    """Export every stack output, by name."""
    api = settings.fleet.api_hostname
    made: dict[str, Any] = {
        "project": pulumi.get_project(),
        "stack": settings.stack,
        "apiHostname": api,
        "apiUrl": f"https://{api}",
        "ingressIp": ingress.ip,
        "dropletNames": fleet.droplet_names,
        "dropletPublicIpv4s": fleet.public_ipv4s,
        "dropletPrivateIpv4s": fleet.private_ipv4s,
        "deployTargets": fleet.deploy_targets,
        "deployUser": settings.access.deploy_user,
        "appImage": hosts.image,
        "healthCheck": asdict(ingress.health_check),
        "fleetTag": fleet.fleet_tag,
        "vpcId": network.vpc_id,
        "mongodbHost": atlas.host,
        "mongodbUri": atlas.connection_string,
        "redisHost": cache.host,
        "redisUrl": cache.url,
        # known_hosts lines (name and address, host key) of every droplet the program
        # reaches: the deploy command and operators connect strictly against them.
        "sshKnownHosts": pulumi.Output.all(
            *(h.known_hosts_line() for h in [*fleet.hosts, *cache.ssh_hosts])
        ).apply(lambda lines: "".join(f"{line}\n" for line in lines)),
        "automationSshPublicKey": access.automation_public_key,
        "deploySshPublicKey": access.deploy_public_key,
        "monthlyCostUsd": cost.monthly_usd,
        "costBreakdown": cost.breakdown(),
    }
    if access.deploy_private_key is not None:
        # For the deploy job's secret store; the automation key itself is never exported.
        made["deploySshPrivateKey"] = access.deploy_private_key
    for key, value in made.items():
        pulumi.export(key, value)
