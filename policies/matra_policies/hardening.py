"""More: pinned SSH host keys, monitoring, supported images, Atlas TLS floor, no managed
Redis, least-privilege database users."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, Severity
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from .common import (
    BASELINE_CURRENT_IMAGE,
    BASELINE_END_OF_LIFE_IMAGES,
    flag,
    flag_unset,
    is_tenant_cluster,
    parameters,
    required_setting,
    resource_rule,
    string_list,
)
from .types import ATLAS_CLUSTER, ATLAS_DATABASE_USER, DATABASE_CLUSTER, DROPLET, REMOTE_COMMAND

END_OF_LIFE_IMAGES = string_list("endOfLifeImages", BASELINE_END_OF_LIFE_IMAGES)
TLS_AT_LEAST_1_2 = ("TLS1_2", "TLS1_3")
SYSTEM_DATABASES = frozenset({"admin", "local", "config"})
ADMIN_ROLES = frozenset(
    {
        "atlasAdmin",
        "readWriteAnyDatabase",
        "readAnyDatabase",
        "dbAdminAnyDatabase",
        "userAdminAnyDatabase",
        "clusterManager",
        "clusterAdmin",
        "root",
        "dbAdmin",
        "userAdmin",
        "enableSharding",
        "backup",
        "restore",
    }
)


monitoring = required_setting(
    "digitalocean-droplet-monitoring",
    Severity.LOW,
    "Droplets run the DigitalOcean monitoring agent.",
    types=DROPLET,
    key="monitoring",
    problem="runs without the monitoring agent",
    fix="set monitoring: true",
)


@resource_rule(
    "digitalocean-droplet-supported-image",
    Severity.MEDIUM,
    level=EnforcementLevel.ADVISORY,
    config=parameters(END_OF_LIFE_IMAGES),
    types=DROPLET,
)
def supported_image(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Droplets do not run an end-of-life OS image."""
    image = args.props.get("image")
    if image in END_OF_LIFE_IMAGES.value(args.get_config()):
        flag(
            report,
            args,
            f"runs {image}, an image past its end of standard support",
            f"use {BASELINE_CURRENT_IMAGE} (matra-infra:dropletImage)",
        )


@resource_rule("mongodbatlas-cluster-min-tls", Severity.HIGH, types=ATLAS_CLUSTER)
def atlas_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Atlas clusters accept TLS 1.2 or newer only."""
    if is_tenant_cluster(args.props):
        args.not_applicable(
            "the shared tier enforces TLS 1.2 itself and takes no advanced configuration"
        )
    floor = (args.props.get("advancedConfiguration") or {}).get("minimumEnabledTlsProtocol")
    if floor not in TLS_AT_LEAST_1_2:
        flag(
            report,
            args,
            f"accepts TLS below 1.2 (minimumEnabledTlsProtocol: {floor or 'unset'})",
            "set advancedConfiguration.minimumEnabledTlsProtocol: TLS1_2",
        )


@resource_rule("digitalocean-database-no-redis", Severity.MEDIUM, types=DATABASE_CLUSTER)
def no_redis(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No managed Redis (discontinued): managed caches use Valkey."""
    if args.props.get("engine") == "redis":
        flag(
            report,
            args,
            "uses the managed redis engine, which DigitalOcean discontinued on 2025-06-30",
            "use engine: valkey (version 8)",
        )


@resource_rule(
    "mongodbatlas-database-user-least-privilege", Severity.HIGH, types=ATLAS_DATABASE_USER
)
def database_user(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Atlas database users hold no admin or any-database roles and are scoped to clusters."""
    for role in args.props.get("roles") or []:
        name, database = role.get("roleName"), role.get("databaseName")
        if name in ADMIN_ROLES or database in SYSTEM_DATABASES:
            flag(
                report,
                args,
                f"holds the role {name} on {database}, which reaches beyond the app's own database",
                "grant readWrite on the app database only",
            )
    flag_unset(
        report,
        args,
        "scopes",
        "is not scoped, so it can log in to every cluster in the project",
        "set scopes [{name: <cluster>, type: CLUSTER}]",
    )


@resource_rule("command-remote-host-key-pinned", Severity.HIGH, types=REMOTE_COMMAND)
def host_key_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every remote command pins its host's SSH key (connection.hostKey), so a different key at
    that address (a recycled address, an impostor) stops it before anything is sent."""
    connection = args.props.get("connection") or {}
    if not connection.get("host"):
        # A connection with parts unknown until the update (a new droplet's address and
        # key) reaches the analyzer as pulumi-command's Check returns it: its defaults,
        # with no host and no key. The rule can't judge it now; the engine analyzes the
        # command again, with its real connection, before it runs it (`pulumi up`).
        raise UnknownValueError(UNKNOWN_STRING_VALUE, ["connection", "host"])
    if not connection.get("hostKey"):
        flag(
            report,
            args,
            "connects without checking the host's SSH key (connection.hostKey unset)",
            "set connection.hostKey to the droplet's host key (matra/ssh.py: Host.host_key)",
        )


POLICIES = [host_key_pinned, monitoring, supported_image, atlas_tls, no_redis, database_user]
