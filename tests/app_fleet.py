"""Stand-ins for what the app repository's deploy jobs talk to, for the tests of
scripts/app_deploy.py and of the jobs that run it (deploy-app.yml, operate-app.yml):

- ``Fleet``: a stack's hosts behind a stand-in deploy command (MATRA_DEPLOY) that keeps
  what each host runs in a state file, answers `--status --json` in the shape
  `python -m deploy` prints (deploy/cli.py), deploys `--release` and `--rollback`, and
  logs every call with the outputs file it was given (its stack and mode). The real
  command is deploy/'s, tested on real hosts there.
- ``GitHubDeployments``: GitHub's deployments API on loopback, recording each request.

``Fleet.env()`` is what a job in the stack's environment has: the deploy material
(vars.DEPLOY_*, secrets.DEPLOY_SSH_KEY) and the stand-in command.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, ClassVar

from json_api import JsonHandler, Serving

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
DIGEST_C = "sha256:" + "c" * 64
COMMIT_A = "3f9c2ab" + "0" * 33
COMMIT_B = "8e1d4c0" + "0" * 33
COMMIT_C = "5a7b9d1" + "0" * 33
A, B, C = f"{COMMIT_A}@{DIGEST_A}", f"{COMMIT_B}@{DIGEST_B}", f"{COMMIT_C}@{DIGEST_C}"
IMAGE = "registry.digitalocean.com/matra/api"
TOKEN = "app-t0ken"

FAKE_DEPLOY = r"""
import json, os, sys
state_path, log = os.environ["FAKE_STATE"], os.environ["FAKE_LOG"]
state = json.load(open(state_path))
args = sys.argv[1:]
path = args[args.index("--outputs") + 1]
outputs = json.load(open(path))
with open(log, "a") as handle:
    handle.write(json.dumps({
        "args": args[2:], "stack": outputs["stack"], "mode": oct(os.stat(path).st_mode & 0o777),
    }) + "\n")
if "--status" in args:
    hosts = [
        {
            "name": name,
            "release": {"tag": r.split("@")[0], "digest": r.split("@")[1] if "@" in r else None},
            "error": None,
        }
        for name, r in state["hosts"].items()
    ]
    runs = set(state["hosts"].values())
    one = runs.pop() if len(runs) == 1 else None
    print(json.dumps({
        "stack": outputs["stack"], "image": outputs["appImage"],
        "release": one if one and "@" in one else None, "agree": bool(one), "hosts": hosts,
    }))
    sys.exit(0)
if "--rollback" in args:
    target = state["previous"]
else:
    target = args[args.index("--release") + 1]
code = int(os.environ.get("FAKE_EXIT", "0"))
if code == 0:
    state["previous"] = next(iter(state["hosts"].values()))
    state["hosts"] = {name: target for name in state["hosts"]}
json.dump(state, open(state_path, "w"))
print(f"deploy: {target} serves on all hosts" if code == 0 else "deploy: error: stopped")
sys.exit(code)
"""


def material(stack: str, url: str) -> dict[str, str]:
    """A stack's deploy material as its app environment holds it (vars and the secret)."""
    hosts = [
        (f"matra-{stack}-api-{i}", f"203.0.113.{10 * (stack == 'prod') + i + 1}") for i in range(2)
    ]
    return {
        "DEPLOY_PROJECT": "matra-infra",
        "DEPLOY_STACK": stack,
        "DEPLOY_IMAGE": IMAGE,
        "DEPLOY_USER": "deploy",
        "DEPLOY_TARGETS": json.dumps([{"name": name, "ip": ip} for name, ip in hosts]),
        "DEPLOY_KNOWN_HOSTS": "".join(f"{name},{ip} ssh-ed25519 AAAA\n" for name, ip in hosts),
        "DEPLOY_HEALTH_CHECK": json.dumps({"path": "/healthz", "port": 80}),
        "DEPLOY_URL": url,
        "DEPLOY_SSH_KEY": (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n"
        ),
    }


class Fleet:
    """One stack's hosts behind the stand-in deploy command."""

    def __init__(self, root: Path, stack: str, runs: str, previous: str, url: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.stack, self.url = stack, url
        self.script = root / "fake_deploy.py"
        self.script.write_text(FAKE_DEPLOY)
        self.state = root / "state.json"
        names = [json.loads(material(stack, url)["DEPLOY_TARGETS"])[i]["name"] for i in range(2)]
        self.state.write_text(
            json.dumps({"hosts": dict.fromkeys(names, runs), "previous": previous})
        )
        self.log = root / "calls.jsonl"

    def env(self) -> dict[str, str]:
        return {
            **material(self.stack, self.url),
            "MATRA_DEPLOY": f"{sys.executable} {self.script}",
            "FAKE_STATE": str(self.state),
            "FAKE_LOG": str(self.log),
        }

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def deploys(self) -> list[list[str]]:
        return [c["args"] for c in self.calls() if "--status" not in c["args"]]

    def hosts(self) -> dict[str, str]:
        return dict(json.loads(self.state.read_text())["hosts"])

    def runs(self) -> set[str]:
        return set(self.hosts().values())

    def set_hosts(self, hosts: dict[str, str]) -> None:
        data = json.loads(self.state.read_text())
        data["hosts"] = hosts
        self.state.write_text(json.dumps(data))


class _Handler(JsonHandler):
    calls: ClassVar[list[tuple[str, str, dict[str, Any]]]]
    refuse_ref: ClassVar[str]

    def do_POST(self) -> None:
        if self.headers["Authorization"] != f"Bearer {TOKEN}":
            self.reply(401, {"message": "Bad credentials"})
            return
        payload = self.payload()
        self.calls.append(("POST", self.path, payload))
        if self.path.endswith("/deployments") and payload["ref"] == self.refuse_ref:
            self.reply(422, {"message": "No ref found for: " + payload["ref"]})
        elif self.path.endswith("/deployments"):
            self.reply(201, {"id": 4711})
        else:
            self.reply(201, {"id": 1})


class GitHubDeployments(Serving):
    """GitHub's deployments API on loopback; ``calls`` holds (method, path, payload)."""

    def __init__(self) -> None:
        self.handler = type("Handler", (_Handler,), {"calls": [], "refuse_ref": ""})
        super().__init__(self.handler)

    @property
    def calls(self) -> list[tuple[str, str, dict[str, Any]]]:
        return self.handler.calls

    def refuse(self, ref: str) -> None:
        self.handler.refuse_ref = ref

    def env(self, repository: str = "matra-io/matra-app") -> dict[str, str]:
        """What a job has for GitHub: its token (github.token), repository, API and run."""
        return {
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": repository,
            "GITHUB_API_URL": self.url,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "77",
            "GITHUB_SHA": "f" * 40,
            "GITHUB_REF_NAME": "main",
        }

    def records(self) -> list[dict[str, Any]]:
        """Each deployment created, with the states it was given in order."""
        found: list[dict[str, Any]] = []
        for _, path, payload in self.calls:
            if path.endswith("/deployments"):
                found.append({**payload, "states": []})
            elif found:
                found[-1]["states"].append(payload)
        return found
