"""matra-infra: read the stack's settings, compose the components, export outputs."""

import pulumi

import matra
from matra import pricing, stack
from matra import settings as stack_settings
from matra.ingress import balancer_uid
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

network = matra.Network("network", matra.NetworkArgs.for_stack(settings))
access = matra.SshAccess("ssh", matra.SshAccessArgs.for_stack(settings))

# Wherever the program works over SSH, the automation key logs in as the ops user.
login = access.login(ADMIN_USER, settings.access.admin_ssh_sources)
account = login.account

# Data tier: the Atlas access list gets each API droplet's address as the fleet makes it.
atlas = matra.AtlasCluster("atlas", matra.AtlasClusterArgs.for_stack(settings))
cache = matra.Cache("cache", matra.CacheArgs.for_stack(settings, network, login))

# What each API host reports and where (Papertrail, New Relic, Sentry); a preview says
# once what the stack leaves out.
telemetry = matra.HostTelemetry(
    settings.observability, stack=settings.stack, app_name=f"{prefix}-api"
)
telemetry.announce()

# Each API host's setup over SSH: Docker, nginx, the deploy entry point, the registry
# credentials, the app's .env, its telemetry, then the release the stack serves now.
hosts = matra.HostSetup(
    "hosts",
    matra.HostSetupArgs(
        account=account,
        deploy_user=settings.access.deploy_user,
        deploy_key=access.deploy_public_key,
        fleet=fleet_settings,
        delivery=settings.delivery,
        mongodb_uri=atlas.connection_string,
        redis_url=cache.url,
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
            deploy_user=settings.access.deploy_user,
            load_balancer_uid=uid,
            database=atlas,
            setup=hosts,
            tags=settings.tags("api"),
            log_port=telemetry.log_port,
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
    matra.MonitoringArgs.for_stack(
        settings,
        fleet_tag=network.fleet_tag,
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

# The DigitalOcean project that groups the stack's droplets and address, and the stack
# outputs the deploy command and operators read (matra/stack.py; docs/outputs.md).
stack.project(settings, fleet, cache, ingress)
stack.export(settings, cost, network, access, atlas, cache, hosts, fleet, ingress)
