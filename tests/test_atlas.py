"""AtlasCluster: tier, region, backups, protection, access list, app user, secrets."""

from dataclasses import replace

import pytest

from harness import build as build_component
from harness import is_secret_input, plain, resolve, run_program
from matra import AccessEntry, AtlasCluster, AtlasClusterArgs
from matra.atlas import mongodb_uri
from matra.settings import AtlasSettings
from matra_data import catalog
from matra_policies.types import ATLAS_ACCESS_LIST as ACCESS
from matra_policies.types import ATLAS_BACKUP_SCHEDULE as SCHEDULE
from matra_policies.types import ATLAS_CLUSTER as CLUSTER
from matra_policies.types import ATLAS_DATABASE_USER as USER
from matra_policies.types import ATLAS_PROJECT as PROJECT
from matra_policies.types import RANDOM_PASSWORD as PASSWORD

SHARED = AtlasSettings(
    org_id="0123456789abcdef01234567",
    tier="M0",
    node_count=3,
    mongodb_version="8.0",
    backups=False,
    backup_retention_days=30,
    point_in_time=False,
)
DEDICATED = replace(SHARED, tier="M20", backups=True, point_in_time=True)


def build(settings, protect=False, region="fra1", access=()):
    return build_component(
        lambda: AtlasCluster(
            "atlas",
            AtlasClusterArgs(
                name="matra-test",
                settings=settings,
                do_region=region,
                app_database="matra",
                app_username="matra-api",
                access=list(access),
                protect=protect,
            ),
        )
    )


def test_shared_m0_is_a_tenant_cluster_without_backups():
    result, _ = build(SHARED)
    cluster = result.one(CLUSTER).inputs
    (spec,) = cluster["replicationSpecs"]
    (region,) = spec["regionConfigs"]
    assert region == {
        "providerName": "TENANT",
        "backingProviderName": "AWS",
        "regionName": "EU_CENTRAL_1",
        "priority": 7,
        "electableSpecs": {"instanceSize": "M0"},
    }
    assert "backupEnabled" not in cluster and "pitEnabled" not in cluster
    assert result.of_type(SCHEDULE) == []
    assert cluster["mongoDbMajorVersion"] == "8.0"
    assert cluster["clusterType"] == "REPLICASET"


def test_dedicated_cluster_with_backups_pit_and_tls_floor():
    result, _ = build(DEDICATED, region="nyc3")
    cluster = result.one(CLUSTER).inputs
    (region,) = cluster["replicationSpecs"][0]["regionConfigs"]
    assert region == {
        "providerName": "AWS",
        "regionName": "US_EAST_1",
        "priority": 7,
        "electableSpecs": {"instanceSize": "M20", "nodeCount": 3},
    }
    assert cluster["backupEnabled"] is True
    assert cluster["pitEnabled"] is True
    assert cluster["retainBackupsEnabled"] is True
    assert cluster["advancedConfiguration"] == {"minimumEnabledTlsProtocol": "TLS1_2"}
    schedule = result.one(SCHEDULE).inputs
    assert schedule["policyItemDaily"] == {
        "frequencyInterval": 1,
        "retentionUnit": "days",
        "retentionValue": 30,
    }
    assert schedule["policyItemHourly"]["retentionUnit"] == "days"
    assert schedule["restoreWindowDays"] == 7
    assert schedule["clusterName"] == "matra-test"


def test_retention_follows_the_setting_and_no_hourly_item_without_pit():
    settings = AtlasSettings(
        **{**DEDICATED.__dict__, "backup_retention_days": 45, "point_in_time": False}
    )
    result, _ = build(settings)
    schedule = result.one(SCHEDULE).inputs
    assert schedule["policyItemDaily"]["retentionValue"] == 45
    assert "policyItemHourly" not in schedule and "restoreWindowDays" not in schedule
    assert result.one(CLUSTER).inputs["pitEnabled"] is False


def test_protect_covers_project_cluster_and_schedule_only():
    result, _ = build(DEDICATED, protect=True, access=[AccessEntry("203.0.113.5", "api-0")])
    protected = {r.type for r in result.registrations if r.protect}
    assert protected == {PROJECT, CLUSTER, SCHEDULE}
    assert result.one(CLUSTER).inputs["terminationProtectionEnabled"] is True
    unprotected, _ = build(DEDICATED, protect=False)
    assert [r for r in unprotected.registrations if r.protect] == []
    assert unprotected.one(CLUSTER).inputs["terminationProtectionEnabled"] is False


def test_app_user_is_least_privilege_with_a_generated_secret_password():
    result, atlas = build(DEDICATED)
    user = result.one(USER).inputs
    assert user["roles"] == [{"roleName": "readWrite", "databaseName": "matra"}]
    assert user["scopes"] == [{"name": "matra-test", "type": "CLUSTER"}]
    assert user["authDatabaseName"] == "admin"
    assert is_secret_input(user["password"])
    assert result.one(PASSWORD).inputs["length"] >= 32
    uri = resolve(atlas.connection_string)
    assert uri.secret is True
    assert uri.value == mongodb_uri(
        "matra-test.ab1cd.mongodb.net", "matra-api", plain(user["password"]), "matra"
    )
    host = resolve(atlas.host)
    assert host.secret is False and host.value == "matra-test.ab1cd.mongodb.net"


def test_uri_percent_encodes_credentials():
    assert mongodb_uri("h.mongodb.net", "a@b", "p/w:x", "db") == (
        "mongodb+srv://a%40b:p%2Fw%3Ax@h.mongodb.net/db?retryWrites=true&w=majority"
    )


@pytest.mark.parametrize("stack, count", [("dev", 1), ("prod", 3)])
def test_access_list_is_exactly_the_fleet_public_ips(stack, count):
    program = run_program(stack)
    assert program.error is None, program.error
    entries = program.of_type(ACCESS)
    ips = program.outputs["dropletPublicIpv4s"].value
    assert len(ips) == count
    assert sorted(e.inputs["ipAddress"] for e in entries) == sorted(ips)
    assert all("cidrBlock" not in e.inputs for e in entries)
    names = program.outputs["dropletNames"].value
    assert sorted(e.inputs["comment"] for e in entries) == sorted(names)


def test_access_list_follows_scaling():
    program = run_program("prod", overrides={"dropletCount": 4})
    assert len(program.of_type(ACCESS)) == 4


@pytest.mark.parametrize(
    "stack, tier, nodes, backups, retention, pit, protect",
    [
        ("dev", "M0", None, False, None, False, False),
        ("staging", "M10", 3, True, 30, False, False),
        ("prod", "M20", 3, True, 30, True, True),
    ],
)
def test_stack_data_tier_matches_the_matrix(stack, tier, nodes, backups, retention, pit, protect):
    program = run_program(stack)
    cluster = program.one(CLUSTER)
    specs = cluster.inputs["replicationSpecs"][0]["regionConfigs"][0]["electableSpecs"]
    assert specs["instanceSize"] == tier
    assert specs.get("nodeCount") == nodes
    assert cluster.inputs.get("backupEnabled", False) is backups
    assert cluster.inputs.get("pitEnabled", False) is pit
    assert cluster.protect is protect
    assert cluster.inputs["terminationProtectionEnabled"] is protect
    schedules = program.of_type(SCHEDULE)
    if retention is None:
        assert schedules == []
    else:
        assert schedules[0].inputs["policyItemDaily"]["retentionValue"] == retention
        assert schedules[0].protect is protect
    assert program.one(PROJECT).inputs["orgId"] == "0123456789abcdef01234567"


def test_every_do_region_maps_to_an_atlas_region():
    for region in catalog.REGIONS:
        assert catalog.atlas_region_for(region) in catalog.ATLAS_REGIONS.values()
    assert catalog.atlas_region_for("lon1") == "EU_WEST_2"
    assert catalog.atlas_region_for("sgp1") == "AP_SOUTHEAST_1"
