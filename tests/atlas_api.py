"""A stand-in for the part of MongoDB Atlas's Administration API (v2) that the restore
drill (scripts/restore_drill.py) calls, on loopback: HTTP digest authentication as
Atlas does it (a 401 with a Digest challenge, then the answer checked), the versioned
media type, and a project whose clusters, snapshots, restore jobs, database users and
access list change as the real ones do (a cluster is CREATING for a few reads, then IDLE;
a restore job finishes after a few reads). It cannot say how long Atlas really takes:
that is what the drill measures.

``AtlasApi.requests`` holds (method, path, payload) of every authenticated request;
``fail`` makes a given (method, path prefix) answer an error once or always."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from typing import Any

from json_api import JsonHandler, Serving

REALM = "MMS Public API"
MEDIA = "application/vnd.atlas.2023-02-01+json"
GROUP = "5f1d7a0e3c9b4e2a1d0c8b7a"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class AtlasApi(Serving):
    def __init__(self, public_key: str = "drill-pub", private_key: str = "drill-priv") -> None:
        self.keys = (public_key, private_key)
        self.requests: list[tuple[str, str, Any]] = []
        self.failures: dict[tuple[str, str], tuple[int, str, bool]] = {}
        self.challenges = 0
        self.clusters: dict[str, dict[str, Any]] = {
            "matra-staging": {
                "name": "matra-staging",
                "clusterType": "REPLICASET",
                "mongoDBMajorVersion": "8.0",
                "backupEnabled": True,
                "stateName": "IDLE",
                "replicationSpecs": [
                    {
                        "id": "r1",
                        "zoneName": "Zone 1",
                        "regionConfigs": [
                            {
                                "providerName": "AWS",
                                "regionName": "EU_CENTRAL_1",
                                "priority": 7,
                                "electableSpecs": {"instanceSize": "M10", "nodeCount": 3},
                                "autoScaling": {"compute": {"enabled": False}},
                            }
                        ],
                    }
                ],
            }
        }
        self.snapshots = [
            {"id": "snap-old", "status": "completed", "createdAt": "2026-11-30T03:00:00Z"},
            {"id": "snap-new", "status": "completed", "createdAt": "2026-12-01T03:00:00Z"},
            {"id": "snap-running", "status": "inProgress", "createdAt": "2026-12-01T09:00:00Z"},
        ]
        self.restore_jobs: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.access: dict[str, dict[str, Any]] = {}
        self.reads_until_idle = 2
        self.reads_until_restored = 2
        self.restore_outcome = "finished"
        """"finished", "failed" or "never" (a restore that never ends)."""
        super().__init__(self._handler())

    def fail(self, method: str, prefix: str, status: int, detail: str, always: bool = True) -> None:
        self.failures[method, prefix] = (status, detail, always)

    def calls(self, method: str = "") -> list[str]:
        return [f"{m} {p}" for m, p, _ in self.requests if not method or m == method]

    # -- the API -------------------------------------------------------------------------

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        for (fail_method, prefix), (status, detail, always) in list(self.failures.items()):
            if method == fail_method and path.startswith(prefix):
                if not always:
                    del self.failures[fail_method, prefix]
                return status, {"detail": detail, "error": status}
        base = f"/api/atlas/v2/groups/{GROUP}"
        if method == "GET" and path == "/api/atlas/v2/groups/byName/matra-staging":
            return 200, {"id": GROUP, "name": "matra-staging"}
        if not path.startswith(base):
            return 404, {"detail": f"No group or resource at {path}."}
        rest = path[len(base) :]
        if method == "POST" and rest == "/clusters":
            cluster = {**body, "stateName": "CREATING", "reads": 0}
            self.clusters[body["name"]] = cluster
            return 201, cluster
        if match := re.fullmatch(r"/clusters/([^/]+)", rest):
            cluster = self.clusters.get(match[1])
            if cluster is None:
                return 404, {"detail": f"No cluster named {match[1]} exists in group {GROUP}."}
            if method == "DELETE":
                del self.clusters[match[1]]
                return 202, None
            if cluster["stateName"] == "CREATING":
                cluster["reads"] += 1
                if cluster["reads"] >= self.reads_until_idle:
                    cluster["stateName"] = "IDLE"
                    cluster["connectionStrings"] = {
                        "standardSrv": f"mongodb+srv://{match[1]}.ab1cd.mongodb.net"
                    }
            return 200, {k: v for k, v in cluster.items() if k != "reads"}
        if method == "GET" and re.fullmatch(r"/clusters/matra-staging/backup/snapshots", rest):
            return 200, {"results": self.snapshots, "totalCount": len(self.snapshots)}
        if method == "POST" and rest == "/clusters/matra-staging/backup/restoreJobs":
            target = self.clusters.get(body.get("targetClusterName"), {})
            if target.get("stateName") != "IDLE":
                return 400, {"detail": "The target cluster is not ready."}
            job = {"id": secrets.token_hex(12), **body, "reads": 0}
            self.restore_jobs[job["id"]] = job
            return 200, job
        if match := re.fullmatch(r"/clusters/matra-staging/backup/restoreJobs/([^/]+)", rest):
            job = self.restore_jobs[match[1]]
            job["reads"] += 1
            if job["reads"] >= self.reads_until_restored and self.restore_outcome != "never":
                if self.restore_outcome == "failed":
                    job["failed"] = True
                else:
                    job["finishedAt"] = "2026-12-01T04:31:00Z"
            return 200, {k: v for k, v in job.items() if k != "reads"}
        if method == "POST" and rest == "/databaseUsers":
            self.users[body["username"]] = body
            return 201, {k: v for k, v in body.items() if k != "password"}
        if method == "DELETE" and (match := re.fullmatch(r"/databaseUsers/admin/([^/]+)", rest)):
            if self.users.pop(match[1], None) is None:
                return 404, {"detail": f"No user {match[1]}."}
            return 204, None
        if method == "POST" and rest == "/accessList":
            for entry in body:
                self.access[entry["ipAddress"]] = entry
            return 201, {"results": list(self.access.values())}
        if method == "DELETE" and (match := re.fullmatch(r"/accessList/([^/]+)", rest)):
            address = match[1].replace("%2F", "/")
            if self.access.pop(address, None) is None:
                return 404, {"detail": f"No access list entry {address}."}
            return 204, None
        return 404, {"detail": f"{method} {path} is not part of this stand-in"}

    def _handler(self) -> type[JsonHandler]:
        api = self

        class Handler(JsonHandler):
            media = MEDIA

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if not self._authorized():
                    api.challenges += 1
                    nonce = secrets.token_hex(16)
                    self.reply(
                        401,
                        {"detail": "You are not authorized for this resource.", "error": 401},
                        {
                            "WWW-Authenticate": f'Digest realm="{REALM}", domain="", '
                            f'nonce="{nonce}", algorithm=MD5, qop="auth", stale=false'
                        },
                    )
                    return
                if self.headers.get("Accept") != MEDIA:
                    self.reply(406, {"detail": "Invalid accept header or version date."})
                    return
                body = json.loads(raw) if raw else None
                api.requests.append((self.command, self.path, body))
                status, answer = api.answer(self.command, self.path, body)
                self.reply(status, answer)

            def _authorized(self) -> bool:
                header = self.headers.get("Authorization") or ""
                if not header.startswith("Digest "):
                    return False
                fields = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))
                user, password = api.keys
                if fields.get("username") != user or fields.get("realm") != REALM:
                    return False
                ha1 = _md5(f"{user}:{REALM}:{password}")
                ha2 = _md5(f"{self.command}:{fields.get('uri')}")
                expected = _md5(
                    f"{ha1}:{fields.get('nonce')}:{fields.get('nc')}:{fields.get('cnonce')}:"
                    f"{fields.get('qop')}:{ha2}"
                )
                return fields.get("response") == expected and fields.get("uri") == self.path

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def do_DELETE(self) -> None:
                self._serve()

        return Handler
