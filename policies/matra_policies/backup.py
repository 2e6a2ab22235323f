"""Backup and protection rules: droplet backups, Atlas cloud backup, retention,
point-in-time restore, termination protection and Pulumi protect on the data."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs,
    ResourceValidationPolicy, Severity, StackValidationArgs, StackValidationPolicy,
)

from .common import (
    ATLAS_BACKUP_SCHEDULE, ATLAS_CLUSTER, ATLAS_PROJECT, DROPLET, config_value,
    is_tenant_cluster, message, retention_days,
)

DEFAULT_MIN_RETENTION_DAYS = 30
DEFAULT_PROTECTED_TYPES = [ATLAS_PROJECT, ATLAS_CLUSTER, ATLAS_BACKUP_SCHEDULE]


def _droplet_backups(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DROPLET:
        return
    if not args.props.get("backups"):
        report(message(args.name, args.resource_type, "has backups off",
                       "set backups: true with a backupPolicy (matra-infra:dropletBackups)"))
    elif not args.props.get("backupPolicy"):
        report(message(args.name, args.resource_type,
                       "has backups on but no backupPolicy, so the window is left to chance",
                       "set backupPolicy {plan, weekday, hour} (matra-infra:backupPlan, "
                       "backupWeekday, backupHour)"))


droplet_backups = ResourceValidationPolicy(
    name="digitalocean-droplet-backups",
    description="Droplets have backups on, with a backup policy.",
    validate=_droplet_backups,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
)


def _atlas_backup(args: StackValidationArgs, report: ReportViolation) -> None:
    minimum = int(config_value(args.get_config(), "minRetentionDays",
                               DEFAULT_MIN_RETENTION_DAYS))
    schedules = [r for r in args.resources if r.resource_type == ATLAS_BACKUP_SCHEDULE]
    for cluster in (r for r in args.resources if r.resource_type == ATLAS_CLUSTER):
        if is_tenant_cluster(cluster.props):
            continue
        if not cluster.props.get("backupEnabled"):
            report(message(cluster.name, cluster.resource_type,
                           "is a dedicated cluster with cloud backup off",
                           "set backupEnabled: true (matra-infra:atlasBackups)"), cluster.urn)
        mine = [s for s in schedules
                if cluster.urn in {d.urn for d in s.property_dependencies.get("clusterName", [])}
                or s.props.get("clusterName") == cluster.props.get("name")]
        if not mine:
            report(message(cluster.name, cluster.resource_type,
                           "has no cloud backup schedule",
                           "add a mongodbatlas.CloudBackupSchedule with a daily policy item "
                           f"kept at least {minimum} days"), cluster.urn)
            continue
        for schedule in mine:
            kept = retention_days(schedule.props.get("policyItemDaily"))
            if kept < minimum:
                report(message(schedule.name, schedule.resource_type,
                               f"keeps daily snapshots {kept} days, less than the required "
                               f"{minimum}",
                               f"set policyItemDaily.retentionValue to at least {minimum} days "
                               "(matra-infra:atlasBackupRetentionDays)"), schedule.urn)


atlas_backup = StackValidationPolicy(
    name="mongodbatlas-cluster-backup-schedule",
    description="Every dedicated Atlas cluster has cloud backup and a backup schedule whose "
                "daily snapshots are kept at least the configured days.",
    validate=_atlas_backup,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(properties={
        "minRetentionDays": {"type": "integer", "minimum": 1,
                             "default": DEFAULT_MIN_RETENTION_DAYS},
    }),
)


def _point_in_time(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ATLAS_CLUSTER or is_tenant_cluster(args.props):
        return
    if not args.props.get("pitEnabled"):
        report(message(args.name, args.resource_type, "has point-in-time restore off",
                       "set pitEnabled: true (matra-infra:atlasPointInTime) and an hourly "
                       "backup policy item"))


point_in_time = ResourceValidationPolicy(
    name="mongodbatlas-cluster-point-in-time",
    description="Dedicated Atlas clusters have continuous backup for point-in-time restore.",
    validate=_point_in_time,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
)


def _termination_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ATLAS_CLUSTER:
        return
    if not args.props.get("terminationProtectionEnabled"):
        report(message(args.name, args.resource_type, "has termination protection off",
                       "set terminationProtectionEnabled: true (matra-infra:protectData)"))


termination_protection = ResourceValidationPolicy(
    name="mongodbatlas-cluster-termination-protection",
    description="Atlas clusters cannot be deleted without first turning termination "
                "protection off.",
    validate=_termination_protection,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
)


def _protect(args: ResourceValidationArgs, report: ReportViolation) -> None:
    types = config_value(args.get_config(), "resourceTypes", DEFAULT_PROTECTED_TYPES)
    if args.resource_type in types and not args.opts.protect:
        report(message(args.name, args.resource_type,
                       "holds the stack's data but lacks Pulumi protect, so one "
                       "`pulumi destroy` or a rename deletes it",
                       "set ResourceOptions(protect=True) (matra-infra:protectData)"))


protect_data = ResourceValidationPolicy(
    name="pulumi-protect-database-resources",
    description="Database resources carry Pulumi protect.",
    validate=_protect,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(properties={
        "resourceTypes": {"type": "array", "items": {"type": "string"},
                          "default": DEFAULT_PROTECTED_TYPES},
    }),
)

POLICIES = [droplet_backups, atlas_backup, point_in_time, termination_protection,
            protect_data]
