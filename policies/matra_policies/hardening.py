"""More: monitoring, supported images, Atlas TLS floor, no managed Redis, least-privilege
database users."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs,
    ResourceValidationPolicy, Severity,
)

from .common import (
    ATLAS_CLUSTER, ATLAS_DATABASE_USER, DATABASE_CLUSTER, DROPLET, config_value,
    is_tenant_cluster, message,
)

DEFAULT_END_OF_LIFE_IMAGES = ["ubuntu-16-04-x64", "ubuntu-18-04-x64", "ubuntu-20-04-x64",
                              "debian-10-x64", "centos-7-x64"]
TLS_AT_LEAST_1_2 = ("TLS1_2", "TLS1_3")
SYSTEM_DATABASES = frozenset({"admin", "local", "config"})
ADMIN_ROLES = frozenset({
    "atlasAdmin", "readWriteAnyDatabase", "readAnyDatabase", "dbAdminAnyDatabase",
    "userAdminAnyDatabase", "clusterManager", "clusterAdmin", "root", "dbAdmin",
    "userAdmin", "enableSharding", "backup", "restore",
})


def _monitoring(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == DROPLET and not args.props.get("monitoring"):
        report(message(args.name, args.resource_type, "runs without the monitoring agent",
                       "set monitoring: true"))


monitoring = ResourceValidationPolicy(
    name="digitalocean-droplet-monitoring",
    description="Droplets run the DigitalOcean monitoring agent.",
    validate=_monitoring,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.LOW,
)


def _supported_image(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DROPLET:
        return
    eol = config_value(args.get_config(), "endOfLifeImages", DEFAULT_END_OF_LIFE_IMAGES)
    image = args.props.get("image")
    if image in eol:
        report(message(args.name, args.resource_type,
                       f"runs {image}, an image past its end of standard support",
                       "use ubuntu-24-04-x64 (matra-infra:dropletImage)"))


supported_image = ResourceValidationPolicy(
    name="digitalocean-droplet-supported-image",
    description="Droplets do not run an end-of-life OS image.",
    validate=_supported_image,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    config_schema=PolicyConfigSchema(properties={
        "endOfLifeImages": {"type": "array", "items": {"type": "string"},
                            "default": DEFAULT_END_OF_LIFE_IMAGES},
    }),
)


def _atlas_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ATLAS_CLUSTER:
        return
    if is_tenant_cluster(args.props):
        args.not_applicable("the shared tier enforces TLS 1.2 itself and takes no "
                            "advanced configuration")
    floor = (args.props.get("advancedConfiguration") or {}).get("minimumEnabledTlsProtocol")
    if floor not in TLS_AT_LEAST_1_2:
        report(message(args.name, args.resource_type,
                       f"accepts TLS below 1.2 (minimumEnabledTlsProtocol: {floor or 'unset'})",
                       "set advancedConfiguration.minimumEnabledTlsProtocol: TLS1_2"))


atlas_tls = ResourceValidationPolicy(
    name="mongodbatlas-cluster-min-tls",
    description="Atlas clusters accept TLS 1.2 or newer only.",
    validate=_atlas_tls,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
)


def _no_redis(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == DATABASE_CLUSTER and args.props.get("engine") == "redis":
        report(message(args.name, args.resource_type,
                       "uses the managed redis engine, which DigitalOcean discontinued on "
                       "2025-06-30", "use engine: valkey (version 8)"))


no_redis = ResourceValidationPolicy(
    name="digitalocean-database-no-redis",
    description="No managed Redis (discontinued): managed caches use Valkey.",
    validate=_no_redis,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
)


def _database_user(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ATLAS_DATABASE_USER:
        return
    for role in args.props.get("roles") or []:
        name, database = role.get("roleName"), role.get("databaseName")
        if name in ADMIN_ROLES or database in SYSTEM_DATABASES:
            report(message(args.name, args.resource_type,
                           f"holds the role {name} on {database}, which reaches beyond the "
                           "app's own database", "grant readWrite on the app database only"))
    if not args.props.get("scopes"):
        report(message(args.name, args.resource_type,
                       "is not scoped, so it can log in to every cluster in the project",
                       "set scopes [{name: <cluster>, type: CLUSTER}]"))


database_user = ResourceValidationPolicy(
    name="mongodbatlas-database-user-least-privilege",
    description="Atlas database users hold no admin or any-database roles and are scoped "
                "to clusters.",
    validate=_database_user,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
)

POLICIES = [monitoring, supported_image, atlas_tls, no_redis, database_user]
