"""Backup and protection rules: droplet backups, Atlas cloud backup, retention,
point-in-time restore, termination protection and Pulumi protect on the data."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from .common import (
    Parameter,
    flag,
    is_tenant_cluster,
    parameters,
    required_setting,
    resource_rule,
    retention_days,
    stack_rule,
    string_list,
)
from .types import ATLAS_BACKUP_SCHEDULE, ATLAS_CLUSTER, ATLAS_PROJECT, DROPLET

MIN_RETENTION_DAYS = Parameter("minRetentionDays", {"type": "integer", "minimum": 1}, 30)
PROTECTED_TYPES = string_list(
    "resourceTypes", [ATLAS_PROJECT, ATLAS_CLUSTER, ATLAS_BACKUP_SCHEDULE]
)


@resource_rule("digitalocean-droplet-backups", Severity.MEDIUM, types=DROPLET)
def droplet_backups(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Droplets have backups on, with a backup policy."""
    if not args.props.get("backups"):
        flag(
            report,
            args,
            "has backups off",
            "set backups: true with a backupPolicy (matra-infra:dropletBackups)",
        )
    elif not args.props.get("backupPolicy"):
        flag(
            report,
            args,
            "has backups on but no backupPolicy, so the window is left to chance",
            "set backupPolicy {plan, weekday, hour} (matra-infra:backupPlan, "
            "backupWeekday, backupHour)",
        )


@stack_rule(
    "mongodbatlas-cluster-backup-schedule", Severity.HIGH, config=parameters(MIN_RETENTION_DAYS)
)
def atlas_backup(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every dedicated Atlas cluster has cloud backup and a backup schedule whose daily
    snapshots are kept at least the configured days."""
    minimum = int(MIN_RETENTION_DAYS.value(args.get_config()))
    schedules = [r for r in args.resources if r.resource_type == ATLAS_BACKUP_SCHEDULE]
    for cluster in (r for r in args.resources if r.resource_type == ATLAS_CLUSTER):
        if is_tenant_cluster(cluster.props):
            continue
        if not cluster.props.get("backupEnabled"):
            flag(
                report,
                cluster,
                "is a dedicated cluster with cloud backup off",
                "set backupEnabled: true (matra-infra:atlasBackups)",
            )
        mine = [
            s
            for s in schedules
            if cluster.urn in {d.urn for d in s.property_dependencies.get("clusterName", [])}
            or s.props.get("clusterName") == cluster.props.get("name")
        ]
        if not mine:
            flag(
                report,
                cluster,
                "has no cloud backup schedule",
                "add a mongodbatlas.CloudBackupSchedule with a daily policy item "
                f"kept at least {minimum} days",
            )
            continue
        for schedule in mine:
            kept = retention_days(schedule.props.get("policyItemDaily"))
            if kept < minimum:
                flag(
                    report,
                    schedule,
                    f"keeps daily snapshots {kept} days, less than the required {minimum}",
                    f"set policyItemDaily.retentionValue to at least {minimum} days "
                    "(matra-infra:atlasBackupRetentionDays)",
                )


point_in_time = required_setting(
    "mongodbatlas-cluster-point-in-time",
    Severity.HIGH,
    "Dedicated Atlas clusters have continuous backup for point-in-time restore.",
    types=ATLAS_CLUSTER,
    key="pitEnabled",
    problem="has point-in-time restore off",
    fix="set pitEnabled: true (matra-infra:atlasPointInTime) and an hourly backup policy item",
    unless=is_tenant_cluster,
)
termination_protection = required_setting(
    "mongodbatlas-cluster-termination-protection",
    Severity.HIGH,
    "Atlas clusters cannot be deleted without first turning termination protection off.",
    types=ATLAS_CLUSTER,
    key="terminationProtectionEnabled",
    problem="has termination protection off",
    fix="set terminationProtectionEnabled: true (matra-infra:protectData)",
)


@resource_rule(
    "pulumi-protect-database-resources", Severity.HIGH, config=parameters(PROTECTED_TYPES)
)
def protect_data(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Database resources carry Pulumi protect."""
    types = PROTECTED_TYPES.value(args.get_config())
    if args.resource_type in types and not args.opts.protect:
        flag(
            report,
            args,
            "holds the stack's data but lacks Pulumi protect, so one "
            "`pulumi destroy` or a rename deletes it",
            "set ResourceOptions(protect=True) (matra-infra:protectData)",
        )


POLICIES = [droplet_backups, atlas_backup, point_in_time, termination_protection, protect_data]
