"""Backup, protection and hardening rules, each with passing and failing cases."""

from typing import ClassVar

import pytest

from matra_policies import backup, hardening
from matra_policies.types import (
    ATLAS_BACKUP_SCHEDULE,
    ATLAS_CLUSTER,
    ATLAS_DATABASE_USER,
    ATLAS_PROJECT,
    DATABASE_CLUSTER,
    DROPLET,
    REMOTE_COMMAND,
)
from policy_harness import (
    UNKNOWN,
    Resource,
    assert_cannot_run_yet,
    assert_no_violations,
    assert_violation,
    secret,
)

DEDICATED_SPEC = [
    {
        "regionConfigs": [
            {
                "providerName": "AWS",
                "regionName": "US_EAST_1",
                "electableSpecs": {"instanceSize": "M20", "nodeCount": 3},
            }
        ]
    }
]
TENANT_SPEC = [
    {
        "regionConfigs": [
            {
                "providerName": "TENANT",
                "backingProviderName": "AWS",
                "regionName": "US_EAST_1",
                "electableSpecs": {"instanceSize": "M0"},
            }
        ]
    }
]


def cluster(**props):
    return Resource(
        ATLAS_CLUSTER,
        "atlas-cluster",
        {
            "name": "matra-prod",
            "replicationSpecs": DEDICATED_SPEC,
            "backupEnabled": True,
            "pitEnabled": True,
            "terminationProtectionEnabled": True,
            "advancedConfiguration": {"minimumEnabledTlsProtocol": "TLS1_2"},
            **props,
        },
    )


def tenant(**props):
    """A shared-tier (M0) cluster."""
    return cluster(replicationSpecs=TENANT_SPEC, **props)


def schedule(days=30, unit="days", for_cluster=None, **props):
    deps = {"clusterName": [for_cluster.urn]} if for_cluster else {}
    return Resource(
        ATLAS_BACKUP_SCHEDULE,
        "atlas-backup-schedule",
        {
            "clusterName": "matra-prod",
            "policyItemDaily": {
                "frequencyInterval": 1,
                "retentionUnit": unit,
                "retentionValue": days,
            },
            **props,
        },
        property_dependencies=deps,
    )


class TestDropletBackups:
    def test_backups_with_policy_pass(self):
        assert_no_violations(
            backup.droplet_backups,
            Resource(
                DROPLET,
                "api-0",
                {"backups": True, "backupPolicy": {"plan": "weekly", "weekday": "SUN", "hour": 4}},
            ),
        )

    def test_backups_off_fail(self):
        assert_violation(
            backup.droplet_backups,
            Resource(DROPLET, "api-0", {"backups": False}),
            contains="'api-0': has backups off. Fix: set backups: true",
        )

    def test_backups_without_policy_fail(self):
        assert_violation(
            backup.droplet_backups,
            Resource(DROPLET, "api-0", {"backups": True}),
            contains="has backups on but no backupPolicy",
        )


class TestAtlasBackupSchedule:
    policy = backup.atlas_backup

    def test_dedicated_cluster_with_a_long_enough_schedule_passes(self):
        c = cluster()
        assert_no_violations(self.policy, [c, schedule(30, for_cluster=c)])

    def test_retention_in_weeks_counts_in_days(self):
        c = cluster()
        assert_no_violations(self.policy, [c, schedule(5, "weeks", for_cluster=c)])

    def test_tenant_cluster_needs_no_schedule(self):
        assert_no_violations(self.policy, [tenant(backupEnabled=None)])

    def test_missing_schedule_fails(self):
        assert_violation(
            self.policy, [cluster()], contains="'atlas-cluster': has no cloud backup schedule"
        )

    def test_short_retention_fails(self):
        c = cluster()
        violation = assert_violation(
            self.policy,
            [c, schedule(7, for_cluster=c)],
            contains="keeps daily snapshots 7 days, less than the required 30",
        )
        assert violation.urn.endswith("::atlas-backup-schedule")

    def test_minimum_comes_from_policy_config(self):
        c = cluster()
        assert_no_violations(
            self.policy, [c, schedule(7, for_cluster=c)], config={"minRetentionDays": 7}
        )

    def test_schedule_is_matched_by_cluster_name_without_dependencies(self):
        assert_no_violations(self.policy, [cluster(), schedule(30)])

    def test_backup_off_fails(self):
        c = cluster(backupEnabled=False)
        assert_violation(
            self.policy,
            [c, schedule(30, for_cluster=c)],
            contains="dedicated cluster with cloud backup off",
        )


def assert_cluster_setting_required(rule, key, problem):
    """A cluster rule built by required_setting: the default (dedicated) cluster passes, one
    with ``key`` off fails with ``problem``."""
    assert_no_violations(rule, cluster())
    assert_violation(rule, cluster(**{key: False}), contains=problem)


class TestClusterSettings:
    def test_point_in_time(self):
        assert_cluster_setting_required(
            backup.point_in_time, "pitEnabled", "has point-in-time restore off"
        )
        assert_no_violations(backup.point_in_time, tenant(pitEnabled=None))

    def test_termination_protection(self):
        assert_cluster_setting_required(
            backup.termination_protection,
            "terminationProtectionEnabled",
            "has termination protection off",
        )

    def test_min_tls(self):
        assert_no_violations(hardening.atlas_tls, cluster())
        assert_no_violations(
            hardening.atlas_tls,
            cluster(advancedConfiguration={"minimumEnabledTlsProtocol": "TLS1_3"}),
        )
        assert_violation(
            hardening.atlas_tls,
            cluster(advancedConfiguration={"minimumEnabledTlsProtocol": "TLS1_1"}),
            contains="accepts TLS below 1.2 (minimumEnabledTlsProtocol: TLS1_1)",
        )
        assert_violation(
            hardening.atlas_tls,
            cluster(advancedConfiguration=None),
            contains="(minimumEnabledTlsProtocol: unset)",
        )
        assert_no_violations(hardening.atlas_tls, tenant(advancedConfiguration=None))


class TestProtect:
    @pytest.mark.parametrize("type_", [ATLAS_PROJECT, ATLAS_CLUSTER, ATLAS_BACKUP_SCHEDULE])
    def test_data_resources_need_protect(self, type_):
        assert_no_violations(backup.protect_data, Resource(type_, "r", {}, protect=True))
        assert_violation(
            backup.protect_data,
            Resource(type_, "r", {}, protect=False),
            contains="lacks Pulumi protect",
        )

    def test_other_resources_are_not_concerned(self):
        assert_no_violations(backup.protect_data, Resource(DROPLET, "api-0", {}))

    def test_types_come_from_config(self):
        assert_violation(
            backup.protect_data,
            Resource(DATABASE_CLUSTER, "cache", {}),
            contains="lacks Pulumi protect",
            config={"resourceTypes": [DATABASE_CLUSTER]},
        )


class TestHardening:
    def test_monitoring(self):
        assert_no_violations(hardening.monitoring, Resource(DROPLET, "api-0", {"monitoring": True}))
        assert_violation(
            hardening.monitoring,
            Resource(DROPLET, "api-0", {}),
            contains="runs without the monitoring agent",
        )

    def test_end_of_life_image_is_advisory(self):
        assert_no_violations(
            hardening.supported_image, Resource(DROPLET, "api-0", {"image": "ubuntu-24-04-x64"})
        )
        violation = assert_violation(
            hardening.supported_image,
            Resource(DROPLET, "api-0", {"image": "ubuntu-20-04-x64"}),
            contains="runs ubuntu-20-04-x64",
        )
        assert violation.level == "advisory"

    def test_no_managed_redis(self):
        assert_no_violations(
            hardening.no_redis, Resource(DATABASE_CLUSTER, "c", {"engine": "valkey"})
        )
        assert_violation(
            hardening.no_redis,
            Resource(DATABASE_CLUSTER, "c", {"engine": "redis"}),
            contains="Fix: use engine: valkey",
        )


class TestDatabaseUser:
    policy = hardening.database_user
    scoped: ClassVar[list] = [{"name": "matra-prod", "type": "CLUSTER"}]

    def test_read_write_on_the_app_database_scoped_passes(self):
        assert_no_violations(
            self.policy,
            Resource(
                ATLAS_DATABASE_USER,
                "app",
                {
                    "roles": [{"roleName": "readWrite", "databaseName": "matra"}],
                    "scopes": self.scoped,
                },
            ),
        )

    @pytest.mark.parametrize(
        "role, database",
        [
            ("atlasAdmin", "admin"),
            ("readWriteAnyDatabase", "admin"),
            ("dbAdmin", "matra"),
            ("readWrite", "admin"),
            ("read", "local"),
        ],
    )
    def test_broad_roles_fail(self, role, database):
        assert_violation(
            self.policy,
            Resource(
                ATLAS_DATABASE_USER,
                "app",
                {"roles": [{"roleName": role, "databaseName": database}], "scopes": self.scoped},
            ),
            contains=f"holds the role {role} on {database}",
        )

    def test_unscoped_user_fails(self):
        assert_violation(
            self.policy,
            Resource(
                ATLAS_DATABASE_USER,
                "app",
                {"roles": [{"roleName": "readWrite", "databaseName": "matra"}]},
            ),
            contains="is not scoped",
        )


class TestHostKeyPinned:
    policy = hardening.host_key_pinned
    connection: ClassVar[dict] = {"host": "203.0.113.11", "user": "ops", "privateKey": "k"}

    def test_a_pinned_key_passes_even_as_a_secret(self):
        pinned = {**self.connection, "hostKey": "ssh-ed25519 AAAAC3Nz host"}
        assert_no_violations(
            self.policy,
            Resource(REMOTE_COMMAND, "delivery-api-0-env", {"connection": secret(pinned)}),
        )

    def test_a_connection_without_a_host_key_fails(self):
        violation = assert_violation(
            self.policy,
            Resource(REMOTE_COMMAND, "delivery-api-0-env", {"connection": secret(self.connection)}),
            contains="command.Command 'delivery-api-0-env': connects without checking the host's "
            "SSH key",
        )
        assert violation.mandatory

    def test_a_key_unknown_in_a_preview_is_judged_at_the_update(self):
        pinned = {**self.connection, "hostKey": UNKNOWN}
        assert_cannot_run_yet(
            self.policy,
            Resource(REMOTE_COMMAND, "tls-api-0", {"connection": pinned}),
            ".connection.hostKey",
        )

    def test_a_connection_unknown_in_a_preview_is_judged_at_the_update(self):
        # pulumi-command's Check hands the analyzer a secret connection with unknown parts
        # as its defaults: no host, no key (policy_harness.checked, measured on the engine).
        assert_cannot_run_yet(
            self.policy,
            Resource(REMOTE_COMMAND, "tls-api-0", {"connection": secret(UNKNOWN)}),
            ".connection.host",
        )
