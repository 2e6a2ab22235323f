"""matra-infra: read the stack's settings, compose the components, export outputs."""

import pulumi
import pulumi_digitalocean as digitalocean

from components import (
    AccessEntry, AdminKeys, AdminKeysArgs, ApiLoadBalancer, ApiLoadBalancerArgs,
    AtlasCluster, AtlasClusterArgs, CertbotSetup, CertbotSetupArgs, DropletFleet,
    DropletFleetArgs, Host, HostDelivery, HostDeliveryArgs, HostSetup, Network,
    NetworkArgs, RedisNode, RedisNodeArgs, SshAccess, SshAccessArgs, SshAccount, SshLogin,
)
from components import settings as stack_settings
from components.hosts import env_file
from components.settings import ADMIN_USER

# Everything is validated here, before the first resource is registered.
settings = stack_settings.load()
prefix = settings.name_prefix

network = Network("network", NetworkArgs(
    region=settings.region,
    ip_range=settings.vpc_ip_range,
    vpc_name=f"{prefix}-vpc",
    fleet_tag=settings.fleet_tag,
))

# The fleet tag and VPC range are plain values from settings; depending on the network
# orders everything after the tag and the VPC exist.
after_network = pulumi.ResourceOptions(depends_on=[network])

supplied = settings.automation_key
access = SshAccess("ssh", SshAccessArgs(
    key_name=f"{prefix}-automation",
    operator_public_keys=settings.ssh_public_keys,
    supplied_public_key=supplied.public_key if supplied else None,
    supplied_private_key=supplied.private_key if supplied else None,
    deploy_public_key=settings.deploy_public_key,
))

load_balancer = None
if settings.load_balancer:
    load_balancer = ApiLoadBalancer("api", ApiLoadBalancerArgs(
        name=f"{prefix}-api",
        region=settings.region,
        vpc_uuid=network.vpc_id,
        droplet_tag=settings.fleet_tag,
        health_path=settings.health_path,
        size_unit=settings.load_balancer_size_unit,
    ), opts=after_network)

fleet = DropletFleet("api", DropletFleetArgs(
    count=settings.droplet_count,
    name_prefix=f"{prefix}-api",
    region=settings.region,
    size=settings.droplet_size,
    image=settings.droplet_image,
    vpc_uuid=network.vpc_id,
    vpc_ip_range=settings.vpc_ip_range,
    fleet_tag=settings.fleet_tag,
    extra_tags=["matra", f"env:{settings.stack}", "role:api"],
    ssh_key_ids=access.ssh_key_ids,
    host=HostSetup(
        admin_user=ADMIN_USER,
        admin_key=access.automation_public_key,
        deploy_user=settings.deploy_user,
        deploy_key=access.deploy_public_key,
        app_port=settings.app_port,
        health_path=settings.health_path,
        server_name=settings.api_hostname,
    ),
    admin_ssh_sources=settings.admin_ssh_sources,
    backup_policy=settings.backup_policy,
    web_load_balancer_uids=[load_balancer.load_balancer_id] if load_balancer else None,
    reserve_ip=load_balancer is None,
), opts=after_network)

if load_balancer is not None:
    ingress_ip = load_balancer.ip
    ingress_urns = [load_balancer.load_balancer_urn]
else:
    assert fleet.reserved_ip is not None and fleet.reserved_ip_urn is not None
    ingress_ip = fleet.reserved_ip
    ingress_urns = [fleet.reserved_ip_urn]

dns_record = None
if settings.dns_zone is not None:
    dns_record = digitalocean.DnsRecord(
        "api-dns",
        domain=settings.dns_zone,
        type="A",
        name=settings.dns_record_name,
        value=ingress_ip,
        ttl=300,
    )

# Data tier: the Atlas access list holds exactly the fleet's public IPv4s.
atlas = AtlasCluster("atlas", AtlasClusterArgs(
    name=prefix,
    settings=settings.atlas,
    do_region=settings.region,
    app_database=settings.app_database,
    app_username="matra-api",
    access=[AccessEntry(ip_address=droplet.ipv4_address, comment=droplet.name)
            for droplet in fleet.droplets],
    protect=settings.protect_data,
))

# Wherever the program works over SSH, the automation key logs in as the ops user.
account = SshAccount(user=ADMIN_USER, private_key=access.automation_private_key)

cache = RedisNode("cache", RedisNodeArgs(
    name=f"{prefix}-cache",
    settings=settings.redis,
    region=settings.region,
    vpc_uuid=network.vpc_id,
    vpc_ip_range=settings.vpc_ip_range,
    client_tag=settings.fleet_tag,
    tags=["matra", f"env:{settings.stack}", "role:cache"],
    image=settings.droplet_image,
    login=SshLogin(
        account=account,
        public_key=access.automation_public_key,
        ssh_key_ids=access.ssh_key_ids,
        admin_ssh_sources=settings.admin_ssh_sources,
    ),
), opts=after_network)

# The last mile, over SSH with the automation key: TLS, registry credentials, .env.
hosts = [Host(name=f"api-{index}", address=droplet.ipv4_address, droplet_id=droplet.id)
         for index, droplet in enumerate(fleet.droplets)]
CertbotSetup("tls", CertbotSetupArgs(
    hosts=hosts,
    account=account,
    hostname=settings.api_hostname,
    email=settings.tls.email,
    acme_directory_url=settings.tls.acme_directory_url,
    challenge=settings.tls.challenge,
    app_port=settings.app_port,
    dns_token=settings.tls.dns_token or (
        # Only a preview gets here without the token (settings warned); it runs nothing.
        pulumi.Output.secret("") if settings.tls.challenge == "dns-01" else None),
), opts=pulumi.ResourceOptions(depends_on=[dns_record] if dns_record else []))

delivery = settings.delivery
HostDelivery("delivery", HostDeliveryArgs(
    hosts=hosts,
    account=account,
    deploy_user=settings.deploy_user,
    registry_name=delivery.registry_name,
    env_file=pulumi.Output.all(atlas.connection_string, cache.url,
                               delivery.app_secret_env or "").apply(
        lambda parts: env_file(mongodb_uri=parts[0], redis_url=parts[1],
                               plain=delivery.app_env, secret_lines=parts[2])),
))

# Operators' keys for the ops user, on every droplet the program reaches over SSH.
AdminKeys("operator-keys", AdminKeysArgs(
    hosts=[*hosts, *cache.ssh_hosts],
    account=account,
    keys=access.admin_authorized_keys,
))

digitalocean.Project(
    "project",
    name=prefix,
    description=f"Matra backend, {settings.stack} stack (managed by Pulumi)",
    purpose="Web Application",
    environment=settings.environment,
    resources=pulumi.Output.all(fleet.droplet_urns, cache.urns, *ingress_urns).apply(
        lambda urns: [*urns[0], *urns[1], *urns[2:]]),
)

# What the app's deploy job reads (`pulumi stack output --json`); README lists each.
pulumi.export("apiHostname", settings.api_hostname)
pulumi.export("apiUrl", f"https://{settings.api_hostname}")
pulumi.export("ingressIp", ingress_ip)
pulumi.export("dropletNames", fleet.droplet_names)
pulumi.export("dropletPublicIpv4s", fleet.public_ipv4s)
pulumi.export("dropletPrivateIpv4s", fleet.private_ipv4s)
pulumi.export("deployTargets", pulumi.Output.all(fleet.droplet_names, fleet.public_ipv4s).apply(
    lambda pair: [{"name": name, "ip": ip} for name, ip in zip(*pair)]))
pulumi.export("deployUser", settings.deploy_user)
pulumi.export("fleetTag", fleet.fleet_tag)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("mongodbHost", atlas.host)
pulumi.export("mongodbUri", atlas.connection_string)
pulumi.export("redisHost", cache.host)
pulumi.export("redisUrl", cache.url)
pulumi.export("automationSshPublicKey", access.automation_public_key)
pulumi.export("deploySshPublicKey", access.deploy_public_key)
if access.deploy_private_key is not None:
    # For the deploy job's secret store; the automation key itself is never exported.
    pulumi.export("deploySshPrivateKey", access.deploy_private_key)
