"""AtlasCluster: the stack's MongoDB Atlas project, cluster, backups, access and app user."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

import pulumi
import pulumi_mongodbatlas as mongodbatlas
import pulumi_random as random

from matra_data import catalog

from .settings import AtlasSettings, StackSettings
from .ssh import moved

APP_USER_ROLE = "readWrite"
SNAPSHOT_HOUR_UTC = 3
# Point-in-time restore needs an hourly snapshot item; the restore window is how far
# back a restore to any moment can go.
HOURLY_EVERY_HOURS = 6
HOURLY_RETENTION_DAYS = 2
RESTORE_WINDOW_DAYS = 7


@dataclass
class AccessEntry:
    """One address that may reach the cluster, with the droplet it belongs to."""

    ip_address: pulumi.Input[str]
    comment: pulumi.Input[str]
    """Names the droplet the address belongs to."""


@dataclass
class AtlasClusterArgs:
    name: str
    """Name of the Atlas project and cluster (e.g. matra-prod)."""
    settings: AtlasSettings
    do_region: str
    """The stack's DigitalOcean region; the Atlas region is the nearest one."""
    app_database: str
    app_username: str
    access: Sequence[AccessEntry] = field(default_factory=tuple)
    """Addresses that may connect from the start; ``allow`` adds the rest."""
    protect: bool = False
    """Pulumi protect on the project, cluster and backup schedule, and Atlas
    termination protection on the cluster."""

    @classmethod
    def for_stack(cls, stack: StackSettings) -> AtlasClusterArgs:
        """The stack's cluster, named after it, near its region, for the app's user."""
        data = stack.data
        return cls(
            name=stack.name_prefix,
            settings=data.atlas,
            do_region=stack.fleet.region,
            app_database=data.app_database,
            app_username="matra-api",
            protect=data.protect,
        )


class AtlasCluster(pulumi.ComponentResource):
    project_id: pulumi.Output[str]
    """Atlas project id."""
    cluster_name: pulumi.Output[str]
    """Atlas cluster name."""
    host: pulumi.Output[str]
    """The cluster's mongodb+srv host name (not secret)."""
    connection_string: pulumi.Output[str]
    """mongodb+srv URI with the app user's credentials and database (a secret)."""

    def __init__(
        self, name: str, args: AtlasClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:AtlasCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, protect=args.protect)
        s = args.settings

        project = mongodbatlas.Project(
            f"{name}-project", name=args.name, org_id=s.org_id, opts=kept
        )
        cluster = mongodbatlas.AdvancedCluster(
            f"{name}-cluster",
            project_id=project.id,
            name=args.name,
            cluster_type="REPLICASET",
            mongo_db_major_version=s.mongodb_version,
            replication_specs=[
                mongodbatlas.AdvancedClusterReplicationSpecArgs(
                    region_configs=[self._region_config(s, args.do_region)]
                )
            ],
            backup_enabled=None if s.is_shared else s.backups,
            pit_enabled=None if s.is_shared else s.point_in_time,
            retain_backups_enabled=None if s.is_shared else s.backups,
            termination_protection_enabled=args.protect,
            # Dedicated tiers take the TLS floor as config; the shared tier enforces
            # TLS 1.2 itself and accepts no advanced configuration.
            advanced_configuration=None
            if s.is_shared
            else mongodbatlas.AdvancedClusterAdvancedConfigurationArgs(
                minimum_enabled_tls_protocol="TLS1_2"
            ),
            opts=kept,
        )

        if s.backups and not s.is_shared:
            mongodbatlas.CloudBackupSchedule(
                f"{name}-backup-schedule",
                project_id=project.id,
                cluster_name=cluster.name,
                reference_hour_of_day=SNAPSHOT_HOUR_UTC,
                reference_minute_of_hour=0,
                policy_item_daily=mongodbatlas.CloudBackupSchedulePolicyItemDailyArgs(
                    frequency_interval=1,
                    retention_unit="days",
                    retention_value=s.backup_retention_days,
                ),
                policy_item_hourly=mongodbatlas.CloudBackupSchedulePolicyItemHourlyArgs(
                    frequency_interval=HOURLY_EVERY_HOURS,
                    retention_unit="days",
                    retention_value=HOURLY_RETENTION_DAYS,
                )
                if s.point_in_time
                else None,
                restore_window_days=RESTORE_WINDOW_DAYS if s.point_in_time else None,
                opts=kept,
            )

        self._name, self._project_id = name, project.id
        for index, entry in enumerate(args.access):
            self.allow(index, entry)

        password = random.RandomPassword(
            f"{name}-app-password", length=40, special=False, opts=child
        )
        user = mongodbatlas.DatabaseUser(
            f"{name}-app-user",
            project_id=project.id,
            username=args.app_username,
            password=password.result,
            auth_database_name="admin",
            roles=[
                mongodbatlas.DatabaseUserRoleArgs(
                    role_name=APP_USER_ROLE, database_name=args.app_database
                )
            ],
            scopes=[mongodbatlas.DatabaseUserScopeArgs(name=cluster.name, type="CLUSTER")],
            opts=child,
        )

        srv = cluster.connection_strings.apply(lambda cs: (cs.standard_srv or "") if cs else "")
        self.project_id = project.id
        self.cluster_name = cluster.name
        self.host = srv.apply(lambda uri: uri.removeprefix("mongodb+srv://"))
        self.connection_string = pulumi.Output.secret(
            pulumi.Output.all(self.host, user.username, password.result).apply(
                lambda parts: mongodb_uri(parts[0], parts[1], parts[2], args.app_database)
            )
        )
        self.register_outputs(
            {
                "project_id": self.project_id,
                "cluster_name": self.cluster_name,
                "host": self.host,
                "connection_string": self.connection_string,
            }
        )

    def allow(
        self, index: int, entry: AccessEntry, *, owner: pulumi.Resource | None = None
    ) -> mongodbatlas.ProjectIpAccessList:
        """Let ``entry``'s address connect: the access list holds exactly the API droplets'
        public IPv4s, the ``index``-th one's under the name <name>-access-<index>.
        ``owner``: the component whose child the entry is (the API host it lets in; it
        was this component's child before: aliased to it), this one if None."""
        return mongodbatlas.ProjectIpAccessList(
            f"{self._name}-access-{index}",
            project_id=self._project_id,
            ip_address=entry.ip_address,
            comment=entry.comment,
            opts=pulumi.ResourceOptions(
                parent=owner or self, aliases=moved(self if owner is not None else None)
            ),
        )

    @staticmethod
    def _region_config(
        s: AtlasSettings, do_region: str
    ) -> mongodbatlas.AdvancedClusterReplicationSpecRegionConfigArgs:
        region = catalog.atlas_region_for(do_region)
        if s.is_shared:
            return mongodbatlas.AdvancedClusterReplicationSpecRegionConfigArgs(
                provider_name="TENANT",
                backing_provider_name=catalog.ATLAS_PROVIDER,
                region_name=region,
                priority=7,
                electable_specs=mongodbatlas.AdvancedClusterReplicationSpecRegionConfigElectableSpecsArgs(
                    instance_size=s.tier
                ),
            )
        return mongodbatlas.AdvancedClusterReplicationSpecRegionConfigArgs(
            provider_name=catalog.ATLAS_PROVIDER,
            region_name=region,
            priority=7,
            electable_specs=mongodbatlas.AdvancedClusterReplicationSpecRegionConfigElectableSpecsArgs(
                instance_size=s.tier, node_count=s.node_count
            ),
        )


def mongodb_uri(host: str, username: str, password: str, database: str) -> str:
    """The app's connection string; user and password are percent-encoded."""
    return (
        f"mongodb+srv://{quote(username, safe='')}:{quote(password, safe='')}@{host}/"
        f"{quote(database, safe='')}?retryWrites=true&w=majority"
    )
