"""The real Pulumi engine in the tests: the CLI, the Python language host, the provider
plugins and the policy analyzer, exactly as a user runs them.

A ``Workspace`` is a throwaway copy of a project as a fresh clone holds it (the files git
tracks or would track, the checkout's virtualenv linked in), with its own ``file://``
backend and Pulumi home, so nothing in the checkout or the user's login is touched.
Its ``preview`` runs ``pulumi preview`` with the policy pack and the stack's policy
config and reads the engine's own event stream (``--json`` with
PULUMI_ENABLE_STREAMING_JSON_PREVIEW): every step, diagnostic, policy violation and the
stack's outputs. With ``record=True`` a second pack (tests/analyzer_recorder) writes down
every request the engine sends the analyzer, so a test can compare the emulated path
(policy_harness) with what the real engine hands the rules.

The engine is whatever ``pulumi`` is on PATH, with its plugins (CI puts
../shared/engine's there: .ci/run). Without one these tests are skipped, and said so;
with MATRA_ENGINE=required (CI) a missing engine fails them instead.

Nothing here reaches a cloud: the credentials are dummies, and a preview of a new stack
calls no provider API. ``up`` is for programs whose providers need none (tls, random,
command against local addresses)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
RECORDER = ROOT / "tests" / "analyzer_recorder"
"""A policy pack that records every analyzer request (and judges nothing)."""
PASSPHRASE = "matra-engine-tests"
"""Protects only the throwaway state of a test's workspace."""
DUMMY_CREDENTIALS = {
    # A preview of a new stack makes no call with them; the providers want them set.
    "DIGITALOCEAN_TOKEN": "dop_v1_" + "0" * 64,
    "MONGODB_ATLAS_PUBLIC_KEY": "engine-tests",
    "MONGODB_ATLAS_PRIVATE_KEY": "engine-tests",
}
TIMEOUT = 600
SKEW = re.compile(
    r"resource plugin (?P<name>[\w-]+) is expected to have version >=(?P<wanted>\S+), "
    r"but has (?P<has>[^;\s]+)"
)


@cache
def cli() -> str | None:
    """The ``pulumi`` on PATH, or None."""
    return shutil.which("pulumi")


def require_engine() -> str:
    """The CLI's path; the calling test is skipped (failed, under MATRA_ENGINE=required)
    when there is none."""
    found = cli()
    if found is None:
        reason = "no pulumi CLI on PATH: the real-engine tier needs one (docs/real-engine.md)"
        if os.environ.get("MATRA_ENGINE") == "required":
            pytest.fail(f"MATRA_ENGINE=required, but {reason}", pytrace=False)
        pytest.skip(reason)
    return found


@cache
def engine_version() -> str:
    return subprocess.run(
        [require_engine(), "version"], capture_output=True, text=True, check=True
    ).stdout.strip()


PROVIDERS = ("command", "digitalocean", "github", "mongodbatlas", "random", "tls")
"""The provider packages the programs use (pulumi-<name> on PyPI, pulumi-resource-<name>)."""


def version_skew() -> list[str]:
    """Each provider plugin on PATH whose version differs from its pinned SDK's
    (``digitalocean 4.76.0, the SDK pins 4.84.1``); a plugin that can't tell its version
    says so."""
    found = []
    for name in PROVIDERS:
        pinned = metadata.version(f"pulumi_{name}")
        plugin = shutil.which(f"pulumi-resource-{name}")
        if plugin is None:
            found.append(f"{name}: no plugin on PATH (the SDK pins {pinned})")
            continue
        answer = subprocess.run(
            [plugin, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
        has = answer.stdout.strip().removeprefix("v")
        if answer.returncode != 0 or not has:
            found.append(f"{name}: the plugin does not say its version (the SDK pins {pinned})")
        elif has != pinned:
            found.append(f"{name} {has}, the SDK pins {pinned}")
    return found


def project_files(project: Path = ROOT) -> list[str]:
    """What a fresh clone of the project holds: git's tracked files and the untracked
    ones it would not ignore (work in progress counts), relative to ``project``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "."],
        cwd=project,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted({name for name in listed.split("\0") if name and (project / name).exists()})


class PlanError(Exception):
    """`pulumi preview --save-plan` failed; the message is what the CLI printed."""


@dataclass
class Preview:
    """One run of the CLI, read from its event stream."""

    returncode: int
    events: list[dict[str, Any]]
    stderr: str
    analyzer: list[dict[str, Any]] = field(default_factory=list)
    """Every request the analyzer got: {"method": "Analyze"|..., "request": {...}}."""
    stack: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def _of(self, kind: str) -> list[dict[str, Any]]:
        return [event[kind] for event in self.events if kind in event]

    @property
    def policy_events(self) -> list[dict[str, Any]]:
        return self._of("policyEvent")

    @property
    def mandatory(self) -> list[dict[str, Any]]:
        return [e for e in self.policy_events if e["enforcementLevel"] == "mandatory"]

    def violations(self, level: str | None = None) -> list[str]:
        """``policy: resource: last line of the message`` for each violation."""
        return [
            f"{e['policyName']}: {e.get('resourceUrn', '').rpartition('::')[2] or 'stack'}: "
            f"{e['message'].strip().splitlines()[-1]}"
            for e in self.policy_events
            if level is None or e["enforcementLevel"] == level
        ]

    @property
    def diagnostics(self) -> list[dict[str, Any]]:
        return self._of("diagnosticEvent")

    def messages(self, severity: str) -> list[str]:
        """The diagnostics of one severity (error, warning, info), without the CLI's
        notes about plugins found on PATH."""
        return [
            d["message"].strip()
            for d in self.diagnostics
            if d["severity"] == severity and "from $PATH at" not in d["message"]
        ]

    @property
    def errors(self) -> list[str]:
        return self.messages("error")

    @property
    def steps(self) -> dict[str, dict[str, Any]]:
        """Each resource's step (op, old and new state, detailed diff), by URN."""
        return {e["metadata"]["urn"]: e["metadata"] for e in self._of("resourcePreEvent")}

    def ops(self) -> dict[str, str]:
        """The steps each resource would take (create, same, update, or for a replacement
        create-replacement+delete-replaced, ...), by URN."""
        found: dict[str, list[str]] = {}
        for event in self._of("resourcePreEvent"):
            metadata = event["metadata"]
            found.setdefault(metadata["urn"], []).append(metadata["op"])
        return {urn: "+".join(ops) for urn, ops in found.items()}

    def changes(self) -> dict[str, str]:
        """``ops`` of the resources the change touches, by name (a name two of them
        share, by name and type)."""
        changed = {urn: ops for urn, ops in self.ops().items() if set(ops.split("+")) != {"same"}}
        names = [urn.rpartition("::")[2] for urn in changed]
        return {
            name
            if names.count(name) == 1
            else f"{name} ({urn.split('::')[2].rsplit(':', 1)[-1]})": ops
            for name, (urn, ops) in zip(names, changed.items(), strict=True)
        }

    @property
    def outputs(self) -> dict[str, Any]:
        """The stack's outputs as the preview shows them (unknowns as the engine's
        sentinel; secrets as {"4dabf...": ..., "plaintext"/"ciphertext": ...})."""
        for event in reversed(self._of("resOutputsEvent")):
            metadata = event["metadata"]
            if metadata["type"] == "pulumi:pulumi:Stack":
                return dict(metadata["new"]["outputs"] or {})
        return {}

    @property
    def skew(self) -> dict[str, tuple[str, str]]:
        """Plugins older than the SDK wants: {name: (wanted, has)}."""
        found = {}
        for message in self.messages("warning"):
            for match in SKEW.finditer(message):
                found[match["name"]] = (match["wanted"], match["has"])
        return found

    def explain(self) -> str:
        """What went wrong, for an assertion's message."""
        return "\n".join([*self.errors, *self.violations("mandatory"), self.stderr.strip()])


class Workspace:
    """A throwaway copy of a project with a file:// backend and a Pulumi home of its own.

    ``project`` is the program's directory inside the repository (the root, or github/);
    the whole repository is copied, so paths between its parts (the pack, the venv) hold.
    """

    def __init__(self, base: Path, project: Path = ROOT) -> None:
        require_engine()
        self.base = base
        self.repo = base / "repo"
        for name in project_files(ROOT):
            target = self.repo / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target, follow_symlinks=False)
        (self.repo / "venv").symlink_to(ROOT / "venv")
        self.dir = self.repo / project.relative_to(ROOT)
        self.state = base / "state"
        self.state.mkdir()
        self.env = {
            **os.environ,
            **DUMMY_CREDENTIALS,
            # Its own state; the user's plugins (a machine without the engine's on PATH
            # downloads them as any preview does) but never the user's login or stacks.
            "PULUMI_BACKEND_URL": f"file://{self.state}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "NO_COLOR": "1",
        }
        if all(shutil.which(f"pulumi-resource-{name}") for name in PROVIDERS):
            # Every plugin is on PATH (the engine these machines carry): never look one up
            # online (offline, each lookup waits for DNS to give up).
            self.env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
        for name in ("PULUMI_ACCESS_TOKEN", "GITHUB_TOKEN", "GITHUB_OWNER", "PULUMI_CONFIG"):
            self.env.pop(name, None)
        self._stacks: set[str] = set()

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True, env: Mapping[str, str] = {}
    ) -> subprocess.CompletedProcess[str]:
        """``pulumi ARGS`` in the project's copy."""
        done = subprocess.run(
            [require_engine(), *args],
            cwd=self.dir,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            env={**self.env, **env},
        )
        if check and done.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed: {done.stderr or done.stdout}")
        return done

    def stack(self, name: str) -> str:
        """Create stack ``name`` once (every command names its stack: none is selected)."""
        if name not in self._stacks:
            self.run("stack", "init", name, "--non-interactive")
            self._stacks.add(name)
        return name

    def configure(self, stack: str, values: Mapping[str, Any]) -> None:
        """Set plain config values (short keys of the project's namespace) in the stack's
        file, as a user edits Pulumi.<stack>.yaml; ``None`` removes a key."""
        self.stack(stack)
        path = self.dir / f"Pulumi.{stack}.yaml"
        document = yaml.safe_load(path.read_text()) if path.exists() else None
        document = document or {}
        config = document.setdefault("config", {})
        project = yaml.safe_load((self.dir / "Pulumi.yaml").read_text())["name"]
        for key, value in values.items():
            name = key if ":" in key else f"{project}:{key}"
            if value is None:
                config.pop(name, None)
            else:
                config[name] = value
        path.write_text(yaml.safe_dump(document, sort_keys=False))

    @contextmanager
    def changed(self, stack: str, values: Mapping[str, Any]) -> Iterator[None]:
        """The stack's file with ``values`` set (as ``configure``), put back afterwards."""
        path = self.dir / f"Pulumi.{stack}.yaml"
        saved = path.read_text() if path.exists() else None
        self.configure(stack, values)
        try:
            yield
        finally:
            if saved is None:
                path.unlink()
            else:
                path.write_text(saved)

    def set_secret(self, stack: str, key: str, value: str) -> None:
        """``pulumi config set --secret`` (the value through stdin, never on a command
        line)."""
        self.stack(stack)
        self.run("config", "set", "--stack", stack, "--secret", key, stdin=value)

    def resources(self, stack: str) -> set[str]:
        """The names of the resources in the stack's state."""
        exported = json.loads(self.run("stack", "export", "--stack", stack).stdout)
        return {r["urn"].rpartition("::")[2] for r in exported["deployment"].get("resources") or []}

    def plan(self, stack: str, *args: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The engine's plan for the stack (`pulumi preview --save-plan --show-secrets`:
        secrets in plain text, in this throwaway workspace only) and the replacement
        trigger each resource registered, by URN (from the engine's gRPC log)."""
        self.stack(stack)
        plan, log = self.base / f"plan-{stack}.json", self.base / f"grpc-{stack}.log"
        log.unlink(missing_ok=True)
        done = self.run(
            "preview", "--stack", stack, "--non-interactive", "--save-plan", str(plan),
            "--show-secrets", *args, env={"PULUMI_DEBUG_GRPC": str(log)}, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise PlanError(done.stdout + done.stderr)
        triggers = {}
        for line in log.read_text().splitlines():
            call = json.loads(line)
            if call.get("method", "").endswith("/RegisterResource") and "response" in call:
                request, response = call["request"], call["response"]
                if "replacementTrigger" in request:
                    triggers[response["urn"]] = request["replacementTrigger"]
        return json.loads(plan.read_text()), triggers

    def schema(self, package: str) -> dict[str, Any]:
        """A provider's schema, from the plugin the engine runs (`pulumi package
        get-schema`)."""
        plugin = shutil.which(f"pulumi-resource-{package}", path=self.env.get("PATH"))
        done = self.run("package", "get-schema", plugin or package)
        return dict(json.loads(done.stdout))

    def import_state(self, stack: str, resources: list[dict[str, Any]]) -> None:
        """Replace the stack's state with ``resources`` (`pulumi stack import`)."""
        exported = json.loads(self.run("stack", "export", "--stack", stack).stdout)
        exported["deployment"]["resources"] = resources
        path = self.base / f"import-{stack}.json"
        path.write_text(json.dumps(exported))
        self.run("stack", "import", "--stack", stack, "--file", str(path))

    def _events(self, command: str, stack: str, args: Sequence[str], record: bool) -> Preview:
        self.stack(stack)
        log = self.base / f"{command}-{stack}-{len(list(self.base.glob('*.jsonl')))}"
        recording = log.with_suffix(".requests")
        env = {"PULUMI_ENABLE_STREAMING_JSON_PREVIEW": "true"}
        packs: list[str] = []
        if record:
            empty = self.base / "recorder-config.json"
            empty.write_text("{}")
            env["MATRA_ANALYZER_RECORD"] = str(recording)
            packs = ["--policy-pack", str(self.repo / RECORDER.relative_to(ROOT))]
            packs += ["--policy-pack-config", str(empty)] if "--policy-pack-config" in args else []
        done = self.run(
            command, "--stack", stack, "--non-interactive", *args, *packs, env=env, check=False
        )
        events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        log.with_suffix(".jsonl").write_text(done.stdout)
        analyzer = []
        if recording.exists():
            analyzer = [json.loads(line) for line in recording.read_text().splitlines()]
        return Preview(done.returncode, events, done.stderr, analyzer, stack)

    def preview(
        self,
        stack: str,
        *args: str,
        pack: bool = True,
        policy_config: Path | None = None,
        record: bool = False,
    ) -> Preview:
        """``pulumi preview --json`` with the policy pack and the stack's policy config
        (policies/config/<stack>.json), as `make preview` runs it."""
        packs = self._packs(stack, pack, policy_config)
        return self._events("preview", stack, ["--json", *packs, *args], record)

    def up(self, stack: str, *args: str, pack: bool = True, record: bool = False) -> Preview:
        """``pulumi up --yes --json`` (for programs whose providers need no cloud)."""
        return self._events(
            "up", stack, ["--yes", "--json", *self._packs(stack, pack, None), *args], record
        )

    def _packs(self, stack: str, pack: bool, policy_config: Path | None) -> list[str]:
        if not pack:
            return []
        packs = ["--policy-pack", str(self.repo / "policies")]
        config = policy_config or self.repo / "policies" / "config" / f"{stack}.json"
        if config.exists():
            packs += ["--policy-pack-config", str(config)]
        return packs


def analyzed(requests: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The properties each resource was analyzed with, by URN (the last Analyze request
    for it)."""
    return {
        r["request"]["urn"]: r["request"].get("properties", {})
        for r in requests
        if r["method"] == "Analyze"
    }
