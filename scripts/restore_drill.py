"""The monthly restore drill (restore-drill.yml): staging's latest snapshot restored into
a throwaway Atlas cluster, a read check against it, and everything the drill made
deleted, whatever happened. Through the Atlas Administration API (v2, HTTP digest auth
with the key in MONGODB_ATLAS_PUBLIC_KEY / MONGODB_ATLAS_PRIVATE_KEY), standard library
only.

    python3 scripts/restore_drill.py restore --project matra-staging --cluster matra-staging \\
        --drill matra-drill-123 --database matra --ip 203.0.113.9 \\
        --state drill.json --uri-file uri.txt
    python3 scripts/restore_drill.py cleanup --state drill.json

`restore` looks the project and the cluster up, takes the newest completed snapshot,
creates the drill cluster like the source (its tier, regions and MongoDB major version;
no backups, no termination protection), restores the snapshot into it, and creates what
a read check needs: a database user with `read` on the app's database, scoped to the
drill cluster, and an access-list entry for the runner's address, both deleted by Atlas
after six hours if the cleanup never runs. It writes the connection string (with that
user's password, masked in the log) to --uri-file (0600), what it made to --state as it
goes, and how long each phase took to the job's summary. `cleanup` deletes what --state
lists, each even if another fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from job import append, write_private

API = "https://cloud.mongodb.com"
ACCEPT = "application/vnd.atlas.2023-02-01+json"
"""The Administration API's version this script speaks."""
TTL = timedelta(hours=6)
"""After this, Atlas deletes the drill's user and access entry itself."""


class DrillError(Exception):
    """The drill can't go on; the message is one line."""


class Atlas:
    def __init__(self, base: str, public_key: str, private_key: str) -> None:
        self.base = base.rstrip("/")
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, self.base, public_key, private_key)
        self.opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(passwords))

    def call(self, method: str, path: str, payload: Any = None) -> Any:
        request = urllib.request.Request(
            f"{self.base}/api/atlas/v2{path}",
            method=method,
            data=json.dumps(payload).encode() if payload is not None else None,
            headers={"Accept": ACCEPT, "Content-Type": ACCEPT},
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                data = response.read()
        except urllib.error.HTTPError as error:
            detail = ""
            with contextlib.suppress(ValueError):
                detail = json.loads(error.read() or b"{}").get("detail", "")
            if error.code == 401:
                detail = detail or (
                    "the key in MONGODB_ATLAS_PUBLIC_KEY and MONGODB_ATLAS_PRIVATE_KEY is not one "
                    "Atlas knows"
                )
                raise DrillError(f"Atlas answered 401 to {method} {path} ({detail})") from None
            raise DrillError(
                f"Atlas answered {error.code} to {method} {path}"
                + (f": {detail}" if detail else "")
            ) from None
        return json.loads(data) if data else None


def wait(
    what: str,
    check: Callable[[], bool],
    timeout: float,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
) -> float:
    """Poll ``check`` until it is true; the seconds it took. DrillError after ``timeout``."""
    started = clock()
    while not check():
        if clock() - started > timeout:
            raise DrillError(f"{what}: not done after {timeout:.0f} s")
        time.sleep(interval)
    return clock() - started


def latest_snapshot(snapshots: Mapping[str, Any]) -> dict[str, Any]:
    done: list[dict[str, Any]] = [
        dict(s) for s in snapshots.get("results") or [] if s.get("status") == "completed"
    ]
    if not done:
        raise DrillError("the source cluster has no completed snapshot to restore")
    return max(done, key=lambda s: str(s.get("createdAt") or ""))


def drill_cluster(source: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The drill cluster's definition: the source's shape, no backups, no protection."""
    specs = []
    for spec in source.get("replicationSpecs") or []:
        regions = [
            {
                key: region[key]
                for key in (
                    "providerName",
                    "backingProviderName",
                    "regionName",
                    "priority",
                    "electableSpecs",
                )
                if key in region
            }
            for region in spec.get("regionConfigs") or []
        ]
        specs.append({"numShards": 1, "regionConfigs": regions})
    return {
        "name": name,
        "clusterType": "REPLICASET",
        "replicationSpecs": specs,
        "mongoDBMajorVersion": source.get("mongoDBMajorVersion"),
        "backupEnabled": False,
        "terminationProtectionEnabled": False,
        "tags": [{"key": "purpose", "value": "restore-drill"}],
    }


def save(path: Path, state: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(state))


def summary(lines: list[str]) -> None:
    for line in lines:
        print(f"restore_drill: {line}", flush=True)
    append("GITHUB_STEP_SUMMARY", "\n".join(f"- {line}" for line in lines) + "\n")


def restore(atlas: Atlas, args: argparse.Namespace) -> None:
    state: dict[str, Any] = {}
    group = atlas.call("GET", f"/groups/byName/{urllib.parse.quote(args.project)}")["id"]
    state["group"] = group
    save(args.state, state)
    source = atlas.call("GET", f"/groups/{group}/clusters/{args.cluster}")
    snapshot = latest_snapshot(
        atlas.call("GET", f"/groups/{group}/clusters/{args.cluster}/backup/snapshots")
    )
    atlas.call("POST", f"/groups/{group}/clusters", drill_cluster(source, args.drill))
    state["cluster"] = args.drill
    save(args.state, state)

    def cluster_ready() -> bool:
        return (
            atlas.call("GET", f"/groups/{group}/clusters/{args.drill}").get("stateName") == "IDLE"
        )

    created = wait(f"cluster {args.drill}", cluster_ready, args.cluster_timeout, args.interval)
    job = atlas.call(
        "POST",
        f"/groups/{group}/clusters/{args.cluster}/backup/restoreJobs",
        {
            "snapshotId": snapshot["id"],
            "deliveryType": "automated",
            "targetClusterName": args.drill,
            "targetGroupId": group,
        },
    )["id"]

    def restored() -> bool:
        found = atlas.call(
            "GET", f"/groups/{group}/clusters/{args.cluster}/backup/restoreJobs/{job}"
        )
        if found.get("failed") or found.get("cancelled") or found.get("expired"):
            raise DrillError(f"restore job {job} did not finish: {json.dumps(found)[:300]}")
        return bool(found.get("finishedAt"))

    restoring = wait(f"restore job {job}", restored, args.restore_timeout, args.interval)
    expires = (datetime.now(UTC) + TTL).strftime("%Y-%m-%dT%H:%M:%SZ")
    username, password = f"{args.drill}-check", secrets.token_urlsafe(24)
    print(f"::add-mask::{password}", flush=True)
    atlas.call(
        "POST",
        f"/groups/{group}/databaseUsers",
        {
            "username": username,
            "password": password,
            "databaseName": "admin",
            "roles": [{"roleName": "read", "databaseName": args.database}],
            "scopes": [{"name": args.drill, "type": "CLUSTER"}],
            "deleteAfterDate": expires,
        },
    )
    state["user"] = username
    save(args.state, state)
    atlas.call(
        "POST",
        f"/groups/{group}/accessList",
        [{"ipAddress": args.ip, "comment": f"{args.drill} read check", "deleteAfterDate": expires}],
    )
    state["access"] = args.ip
    save(args.state, state)
    srv = (
        atlas.call("GET", f"/groups/{group}/clusters/{args.drill}").get("connectionStrings") or {}
    ).get("standardSrv", "")
    if not srv.startswith("mongodb+srv://"):
        raise DrillError(f"cluster {args.drill} has no mongodb+srv connection string")
    host = srv.removeprefix("mongodb+srv://").rstrip("/")
    uri = f"mongodb+srv://{urllib.parse.quote(username)}:{urllib.parse.quote(password)}@{host}/{args.database}"
    write_private(args.uri_file, uri)
    summary(
        [
            f"snapshot {snapshot['id']} of {args.cluster}, taken {snapshot.get('createdAt')}",
            f"cluster {args.drill} ready in {created:.0f} s",
            f"restored in {restoring:.0f} s",
        ]
    )


def cleanup(atlas: Atlas, state: Mapping[str, Any]) -> list[str]:
    """Delete what the drill made; the problems, one line each."""
    group = state.get("group")
    if not group:
        return []
    problems = []
    steps = []
    if state.get("access"):
        steps.append(
            (
                "access entry",
                f"/groups/{group}/accessList/{urllib.parse.quote(state['access'], safe='')}",
            )
        )
    if state.get("user"):
        steps.append(("user", f"/groups/{group}/databaseUsers/admin/{state['user']}"))
    if state.get("cluster"):
        steps.append(("cluster", f"/groups/{group}/clusters/{state['cluster']}"))
    for what, path in steps:
        try:
            atlas.call("DELETE", path)
            print(f"restore_drill: deleted the drill's {what}", flush=True)
        except DrillError as error:
            problems.append(f"the drill's {what} was not deleted: {error}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("restore")
    run.add_argument("--project", required=True)
    run.add_argument("--cluster", required=True)
    run.add_argument("--drill", required=True)
    run.add_argument("--database", required=True)
    run.add_argument("--ip", required=True, help="the runner's public address, for the read check")
    run.add_argument("--state", required=True, type=Path)
    run.add_argument("--uri-file", required=True, type=Path)
    run.add_argument("--interval", type=float, default=30)
    run.add_argument("--cluster-timeout", type=float, default=45 * 60)
    run.add_argument("--restore-timeout", type=float, default=3 * 60 * 60)
    clean = commands.add_parser("cleanup")
    clean.add_argument("--state", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        atlas = Atlas(
            os.environ.get("MONGODB_ATLAS_BASE_URL", API),
            os.environ["MONGODB_ATLAS_PUBLIC_KEY"],
            os.environ["MONGODB_ATLAS_PRIVATE_KEY"],
        )
    except KeyError as missing:
        print(f"restore_drill: {missing.args[0]} is missing from the environment", file=sys.stderr)
        return 1
    if args.command == "cleanup":
        state = json.loads(args.state.read_text()) if args.state.exists() else {}
        problems = cleanup(atlas, state)
        for problem in problems:
            print(f"restore_drill: {problem}", file=sys.stderr)
        return 1 if problems else 0
    try:
        restore(atlas, args)
    except DrillError as error:
        print(f"restore_drill: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
