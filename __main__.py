"""matra-infra: read the stack's settings, compose the components, export outputs."""

from dataclasses import asdict

import pulumi
import pulumi_digitalocean as digitalocean

import matra
from matra import pricing
from matra import settings as stack_settings
from matra.ingress import balancer_uid
from matra.observability import vcpus
from matra.settings import ADMIN_USER

# Everything is validated here, before the first resource is registered; a mistake is
# one line per problem, and the program's only error.
try:
    settings = stack_settings.load()
except stack_settings.ConfigError as error:
    stack_settings.stop(error)

# What the stack costs a month, from the settings alone: known at preview, and shown in it.
cost = pricing.estimate(settings)
pulumi.log.info(cost.summary())

prefix = settings.name_prefix
fleet_settings = settings.fleet
access_settings = settings.access
data = settings.data
observability = settings.observability

network = matra.Network(
    "network",
    matra.NetworkArgs(
        region=fleet_settings.region,
        ip_range=fleet_settings.vpc_ip_range,
        vpc_name=f"{prefix}-vpc",
        fleet_tag=settings.fleet_tag,
    ),
)

supplied = access_settings.automation_key
access = matra.SshAccess(
    "ssh",
    matra.SshAccessArgs(
        key_name=f"{prefix}-automation",
        operator_public_keys=access_settings.operator_keys,
        supplied_public_key=supplied.public_key if supplied else None,
        supplied_private_key=supplied.private_key if supplied else None,
        deploy_public_key=access_settings.deploy_public_key,
    ),
)

# Wherever the program works over SSH, the automation key logs in as the ops user.
account = matra.SshAccount(user=ADMIN_USER, private_key=access.automation_private_key)
login = matra.SshLogin(
    account=account,
    public_key=access.automation_public_key,
    ssh_key_ids=access.ssh_key_ids,
    admin_ssh_sources=access_settings.admin_ssh_sources,
)

# Data tier: the Atlas access list gets each API droplet's address as the fleet makes it.
atlas = matra.AtlasCluster(
    "atlas",
    matra.AtlasClusterArgs(
        name=prefix,
        settings=data.atlas,
        do_region=fleet_settings.region,
        app_database=data.app_database,
        app_username="matra-api",
        protect=data.protect,
    ),
)
cache = matra.Cache(
    "cache",
    matra.CacheArgs(
        name=f"{prefix}-cache",
        settings=data.redis,
        placement=network.placement,
        client_tag=network.fleet_tag,
        tags=settings.tags("cache"),
        image=fleet_settings.droplet_image,
        login=login,
    ),
)

# What each API host reports and where (Papertrail, New Relic, Sentry); a preview says
# once what the stack leaves out.
telemetry = matra.HostTelemetry(observability, stack=settings.stack, app_name=f"{prefix}-api")
telemetry.announce()

# Each API host's setup over SSH: Docker, nginx, the deploy entry point, the registry
# credentials, the app's .env, its telemetry, then the release the stack serves now.
hosts = matra.HostSetup(
    "hosts",
    matra.HostSetupArgs(
        account=account,
        deploy_user=access_settings.deploy_user,
        deploy_key=access.deploy_public_key,
        fleet=fleet_settings,
        delivery=settings.delivery,
        mongodb_uri=atlas.connection_string,
        redis_url=cache.url,
        release_source=f"http://{fleet_settings.api_hostname}/.matra/release"
        if fleet_settings.dns_zone
        else "",
        telemetry=telemetry,
    ),
)


# The API hosts, one at a time: each droplet gets on the database's access list, is set
# up and serves before the next is made. Then how the API is reached: the balancer (TLS
# there; the fleet's firewall admits it alone) or the lone droplet's reserved IP (certbot
# on it), and the hostname's DNS record.
with balancer_uid() as (uid, admit_balancer):
    fleet = matra.DropletFleet(
        "api",
        matra.DropletFleetArgs(
            name_prefix=f"{prefix}-api",
            placement=network.placement,
            fleet_tag=network.fleet_tag,
            login=login,
            settings=fleet_settings,
            deploy_user=access_settings.deploy_user,
            load_balancer_uid=uid,
            database=atlas,
            setup=hosts,
            tags=settings.tags("api"),
            log_port=observability.papertrail.port if observability.papertrail else None,
        ),
    )
    ingress = matra.Ingress(
        "ingress",
        matra.IngressArgs(
            name=prefix,
            fleet=fleet,
            settings=fleet_settings,
            tls=settings.tls,
            placement=network.placement,
            account=account,
        ),
    )
    admit_balancer(ingress.load_balancer_uid)

# DigitalOcean's alerts on the droplets (and the balancer) and its uptime check on the API.
matra.Monitoring(
    "monitoring",
    matra.MonitoringArgs(
        name=prefix,
        alerts=observability.alerts,
        uptime=observability.uptime,
        fleet_tag=network.fleet_tag,
        api_vcpus=vcpus(fleet_settings.droplet_size),
        health_url=f"https://{fleet_settings.api_hostname}{fleet_settings.health_path}",
        droplet_count=fleet_settings.droplet_count,
        other_droplet_tags=cache.droplet_tags,
        load_balancer_id=ingress.load_balancer_id,
    ),
)

# Operators' keys for the ops user, on every droplet the program reaches over SSH.
matra.AdminKeys(
    "operator-keys",
    matra.AdminKeysArgs(
        hosts=[*fleet.hosts, *cache.ssh_hosts], account=account, keys=access.admin_authorized_keys
    ),
)

digitalocean.Project(
    "project",
    name=prefix,
    description=f"Matra backend, {settings.stack} stack (managed by Pulumi)",
    purpose="Web Application",
    environment=settings.environment,
    resources=pulumi.Output.all(fleet.droplet_urns, cache.urns, ingress.address_urn).apply(
        lambda urns: [*urns[0], *urns[1], urns[2]]
    ),
)

# The stack outputs: what the app's deploy command and operators read (`pulumi stack
# output --json`); docs/outputs.md lists each.
outputs: dict[str, object] = {
    "project": pulumi.get_project(),
    "stack": settings.stack,
    "apiHostname": fleet_settings.api_hostname,
    "apiUrl": f"https://{fleet_settings.api_hostname}",
    "ingressIp": ingress.ip,
    "dropletNames": fleet.droplet_names,
    "dropletPublicIpv4s": fleet.public_ipv4s,
    "dropletPrivateIpv4s": fleet.private_ipv4s,
    "deployTargets": fleet.deploy_targets,
    "deployUser": access_settings.deploy_user,
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
    # The monthly estimate and its items (matra/pricing.py; README: What it costs).
    "monthlyCostUsd": cost.monthly_usd,
    "costBreakdown": cost.breakdown(),
}
if access.deploy_private_key is not None:
    # For the deploy job's secret store; the automation key itself is never exported.
    outputs["deploySshPrivateKey"] = access.deploy_private_key
for key, value in outputs.items():
    pulumi.export(key, value)
