"""The monthly restore drill's API calls (scripts/restore_drill.py), against a stand-in for
Atlas's Administration API that authenticates by HTTP digest as Atlas does
(tests/atlas_api.py): what it restores, into what, what it leaves behind when a step
fails, and that the cleanup deletes everything the drill made even when part of it
fails. The drill itself cannot run here (it creates a real cluster); restore-drill.yml's
steps are run with a stand-in `docker` to show where the connection string goes."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import restore_drill
from atlas_api import GROUP, AtlasApi
from harness import ROOT
from workflow_files import broken, everything, named, run_script, step

DRILL = "matra-drill-77"
BASE = f"/api/atlas/v2/groups/{GROUP}"


@pytest.fixture
def atlas(monkeypatch, tmp_path):
    with AtlasApi() as api:
        monkeypatch.setenv("MONGODB_ATLAS_BASE_URL", api.url)
        monkeypatch.setenv("MONGODB_ATLAS_PUBLIC_KEY", "drill-pub")
        monkeypatch.setenv("MONGODB_ATLAS_PRIVATE_KEY", "drill-priv")
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
        yield api


def restore(tmp_path: Path, *extra: str) -> int:
    return restore_drill.main(
        [
            "restore",
            "--project", "matra-staging",
            "--cluster", "matra-staging",
            "--drill", DRILL,
            "--database", "matra",
            "--ip", "198.51.100.7",
            "--state", str(tmp_path / "drill.json"),
            "--uri-file", str(tmp_path / "uri.txt"),
            "--interval", "0.01",
            *extra,
        ]
    )  # fmt: skip


def cleanup(tmp_path: Path) -> int:
    return restore_drill.main(["cleanup", "--state", str(tmp_path / "drill.json")])


def state(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "drill.json").read_text())


def test_the_newest_completed_snapshot_is_restored_into_a_drill_cluster_and_read_back(
    atlas, tmp_path, capsys
):
    assert restore(tmp_path) == 0
    out = capsys.readouterr().out
    assert atlas.calls("POST") == [
        f"POST {BASE}/clusters",
        f"POST {BASE}/clusters/matra-staging/backup/restoreJobs",
        f"POST {BASE}/databaseUsers",
        f"POST {BASE}/accessList",
    ]
    requests = {f"{m} {p}": body for m, p, body in atlas.requests}
    cluster = requests[f"POST {BASE}/clusters"]
    source = atlas.clusters["matra-staging"]
    assert cluster["name"] == DRILL and cluster["clusterType"] == "REPLICASET"
    assert cluster["mongoDBMajorVersion"] == source["mongoDBMajorVersion"]
    (spec,) = cluster["replicationSpecs"]
    (region,) = spec["regionConfigs"]
    assert region["electableSpecs"] == {"instanceSize": "M10", "nodeCount": 3}
    assert region["providerName"] == "AWS" and region["regionName"] == "EU_CENTRAL_1"
    assert cluster["backupEnabled"] is False and cluster["terminationProtectionEnabled"] is False

    job = requests[f"POST {BASE}/clusters/matra-staging/backup/restoreJobs"]
    assert job == {
        "snapshotId": "snap-new",  # the newest completed one, not the one still running
        "deliveryType": "automated",
        "targetClusterName": DRILL,
        "targetGroupId": GROUP,
    }
    # (The stand-in refuses a restore into a cluster that is not IDLE yet, as Atlas does.)

    (user,) = atlas.users.values()
    assert user["roles"] == [{"roleName": "read", "databaseName": "matra"}]
    assert user["databaseName"] == "admin"
    assert user["scopes"] == [{"name": DRILL, "type": "CLUSTER"}]
    (entry,) = atlas.access.values()
    assert entry["ipAddress"] == "198.51.100.7"
    for expiring in (user["deleteAfterDate"], entry["deleteAfterDate"]):
        when = datetime.strptime(expiring, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert timedelta(hours=5) < when - datetime.now(UTC) <= timedelta(hours=6)

    uri_file = tmp_path / "uri.txt"
    assert stat.S_IMODE(uri_file.stat().st_mode) == 0o600
    password = user["password"]
    assert uri_file.read_text() == (
        f"mongodb+srv://{DRILL}-check:{password}@{DRILL}.ab1cd.mongodb.net/matra"
    )
    # The password is masked before anything could print it, and printed nowhere else.
    lines = out.splitlines()
    assert f"::add-mask::{password}" in lines
    assert [line for line in lines if password in line] == [f"::add-mask::{password}"]
    assert password not in (tmp_path / "drill.json").read_text()
    assert state(tmp_path) == {
        "group": GROUP,
        "cluster": DRILL,
        "user": f"{DRILL}-check",
        "access": "198.51.100.7",
    }
    summary = (tmp_path / "summary.md").read_text()
    assert "snapshot snap-new of matra-staging, taken 2026-12-01T03:00:00Z" in summary
    assert f"cluster {DRILL} ready in " in summary and "restored in " in summary

    assert cleanup(tmp_path) == 0
    assert DRILL not in atlas.clusters and atlas.users == {} and atlas.access == {}
    assert "matra-staging" in atlas.clusters  # the source is never touched
    assert [c for c in atlas.calls() if not c.startswith("GET")][-3:] == [
        f"DELETE {BASE}/accessList/198.51.100.7",
        f"DELETE {BASE}/databaseUsers/admin/{DRILL}-check",
        f"DELETE {BASE}/clusters/{DRILL}",
    ]
    assert atlas.challenges > 0  # every call went through the digest exchange


def test_a_failed_restore_is_one_line_and_the_cleanup_still_deletes_the_cluster(
    atlas, tmp_path, capsys
):
    atlas.restore_outcome = "failed"
    assert restore(tmp_path) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("restore_drill: restore job ") and " did not finish: " in line
    assert state(tmp_path) == {"group": GROUP, "cluster": DRILL}
    assert not (tmp_path / "uri.txt").exists()
    assert cleanup(tmp_path) == 0
    assert DRILL not in atlas.clusters


def test_a_cluster_that_never_gets_ready_times_out_and_is_deleted(atlas, tmp_path, capsys):
    atlas.reads_until_idle = 10**6
    assert restore(tmp_path, "--cluster-timeout", "0.2") == 1
    assert capsys.readouterr().err == f"restore_drill: cluster {DRILL}: not done after 0 s\n"
    assert cleanup(tmp_path) == 0
    assert DRILL not in atlas.clusters
    assert not any("restoreJobs" in c for c in atlas.calls("POST"))


def test_the_cleanup_goes_on_past_a_failed_delete_and_says_what_is_left(atlas, tmp_path, capsys):
    assert restore(tmp_path) == 0
    capsys.readouterr()
    atlas.fail("DELETE", f"{BASE}/databaseUsers/", 500, "Unexpected error.")
    assert cleanup(tmp_path) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        f"restore_drill: the drill's user was not deleted: Atlas answered 500 to DELETE "
        f"/groups/{GROUP}/databaseUsers/admin/{DRILL}-check: Unexpected error."
    )
    assert DRILL not in atlas.clusters and atlas.access == {}  # the rest went
    assert list(atlas.users) == [f"{DRILL}-check"]  # and Atlas deletes it at deleteAfterDate


def test_no_completed_snapshot_creates_nothing(atlas, tmp_path, capsys):
    atlas.snapshots = [s for s in atlas.snapshots if s["status"] != "completed"]
    assert restore(tmp_path) == 1
    assert capsys.readouterr().err == (
        "restore_drill: the source cluster has no completed snapshot to restore\n"
    )
    assert atlas.calls("POST") == [] and state(tmp_path) == {"group": GROUP}
    assert cleanup(tmp_path) == 0 and atlas.calls("DELETE") == []


def test_a_wrong_key_is_one_line_and_nothing_is_made(atlas, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MONGODB_ATLAS_PRIVATE_KEY", "not-the-key")
    assert restore(tmp_path) == 1
    assert capsys.readouterr().err == (
        "restore_drill: Atlas answered 401 to GET /groups/byName/matra-staging (the key in "
        "MONGODB_ATLAS_PUBLIC_KEY and MONGODB_ATLAS_PRIVATE_KEY is not one Atlas knows)\n"
    )
    assert atlas.requests == []
    assert cleanup(tmp_path) == 0  # nothing listed, nothing to delete


def test_a_missing_key_is_one_line(atlas, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MONGODB_ATLAS_PUBLIC_KEY")
    assert restore(tmp_path) == 1
    assert capsys.readouterr().err == (
        "restore_drill: MONGODB_ATLAS_PUBLIC_KEY is missing from the environment\n"
    )


# -- restore-drill.yml, run ------------------------------------------------------------------

DOCS = everything()


def _read_check(docs, tmp_path: Path, documents: int):
    """The read check step, with a `docker` that logs its argv and environment and answers
    as mongosh would for a database of ``documents`` documents."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "docker.log"
    docker = bin_dir / "docker"
    docker.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{log}"\n'
        f'echo "MONGODB_URI=$MONGODB_URI" >> "{log}"\n'
        f"echo 'collections: 3, documents: {documents}'\n"
        f"[ {documents} -gt 0 ]\n"
    )
    docker.chmod(0o755)
    script = step(named(docs, "restore-drill.yml"), "drill", "Read check")["run"]
    uri = "mongodb+srv://matra-drill-77-check:s3cr3t-pw@matra-drill-77.ab1cd.mongodb.net/matra"
    (tmp_path / "temp").mkdir()
    (tmp_path / "temp" / "uri.txt").write_text(uri)
    done = run_script(script.replace("$RUNNER_TEMP", str(tmp_path / "temp")), {}, path=[bin_dir])
    return done, log.read_text().splitlines(), uri


def test_the_connection_string_reaches_mongosh_in_its_environment_never_its_argv(tmp_path):
    done, logged, uri = _read_check(DOCS, tmp_path, documents=12)
    assert done.returncode == 0, done.stdout
    argv = logged[:-1]
    assert not any("s3cr3t-pw" in word for word in argv), argv
    assert "MONGODB_URI" in argv and logged[-1] == f"MONGODB_URI={uri}"
    assert "- read check in " in done.summary


def test_the_read_check_fails_on_an_empty_restore(tmp_path):
    done, _, _ = _read_check(DOCS, tmp_path, documents=0)
    assert done.returncode != 0


def test_the_uri_check_fails_on_a_broken_copy(tmp_path):
    docs = broken(
        DOCS,
        "restore-drill.yml",
        'MONGODB_URI=$(cat "$RUNNER_TEMP/uri.txt") docker run --rm -e MONGODB_URI mongo',
        'docker run --rm -e "MONGODB_URI=$(cat "$RUNNER_TEMP/uri.txt")" mongo',
    )
    _, logged, _ = _read_check(docs, tmp_path, documents=12)
    assert any("s3cr3t-pw" in word for word in logged[:-1])


def test_the_drill_always_cleans_up_with_the_state_the_restore_wrote():
    drill = named(DOCS, "restore-drill.yml")
    job = drill.jobs()["drill"]
    restore_step = step(drill, "drill", "Restore")
    clean = step(drill, "drill", "Delete what the drill made")
    assert clean.get("if") == "always()"
    assert job["steps"].index(clean) == len(job["steps"]) - 1
    state_of = [w for w in restore_step["run"].split() if "drill.json" in w]
    assert state_of and all(w in clean["run"] for w in state_of)


def test_the_drill_restores_the_staging_stacks_own_cluster_and_database():
    """What the workflow names is what the staging stack makes: project and cluster
    matra-<stack> (matra/settings), the database its appDatabase (with defaults)."""
    import yaml

    restore_step = step(named(DOCS, "restore-drill.yml"), "drill", "Restore")
    words = restore_step["run"].replace("\\\n", " ").split()
    given = {words[i]: words[i + 1] for i, w in enumerate(words) if w.startswith("--")}
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    stack = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())["config"]
    database = stack.get("matra-infra:appDatabase", project["config"]["appDatabase"]["default"])
    assert given["--project"] == given["--cluster"] == "matra-staging"
    assert given["--database"] == database
