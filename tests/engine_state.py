"""A stack with state, without a cloud: what `pulumi up` would leave, so that a real
`pulumi preview --diff` shows what a change does to a running fleet.

The real engine plans the stack (`pulumi preview --save-plan --show-secrets`: every
resource's inputs as the provider checked them, secrets in plain text, its planned
outputs). What only the cloud knows (ids, addresses, generated keys and passwords) comes
from ``harness.created``, the same answers the mocks give. That deployment goes in with
`pulumi stack import`; the engine plans again, now from that state, and every resource
whose inputs came from another's outputs takes the value the program computes from them.
Repeated until the engine plans no change: the state is then the one the program
converges to, as after an update. The replacement triggers the program registers
(a droplet's host key is replaced with it) are read from the engine's gRPC log
(PULUMI_DEBUG_GRPC), as the engine records them in the state."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import struct
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from engine import PlanError, Workspace
from harness import created

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SECRET = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"
RAW_STATE_DELTA = "__pulumi_raw_state_delta"
ROUNDS = 8
SCHEMA_VERSIONS = {
    # terraform-provider-digitalocean v2.96.0 (SchemaVersion in each resource): the bridge
    # would otherwise migrate their state from version 0.
    "digitalocean:index/droplet:Droplet": 1,
    "digitalocean:index/certificate:Certificate": 1,
    "digitalocean:index/loadBalancer:LoadBalancer": 1,
}
"""The state schema version the bridge records for a resource when it is created, where
it is not 0. A plugin-framework resource that needs one fails its plan saying which it
can't upgrade from: ``Deployment.learn`` takes it from there."""
UPGRADE_FAILED = re.compile(
    r"\s(?P<name>[\w-]+)\s+error: "
    r".*expecting an implementation for version (?P<version>\d+) upgrade"
)


def _secret(value: Any) -> dict[str, Any]:
    return {SECRET: SECRET_VALUE, "plaintext": json.dumps(value)}


def _has_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        if value.get(SECRET) == SECRET_VALUE and "plaintext" in value:
            return _has_unknown(json.loads(value["plaintext"]))
        return any(_has_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_unknown(item) for item in value)
    return False


def _known(value: Any) -> Any:
    """``value`` without what is unknown yet (an input computed from a resource the
    deployment has not got yet: the next round fills it in)."""
    if isinstance(value, dict):
        if value.get(SECRET) == SECRET_VALUE and "plaintext" in value:
            return _secret(_known(json.loads(value["plaintext"])))
        return {k: _known(v) for k, v in value.items() if _plaintext(v) != UNKNOWN}
    if isinstance(value, list):
        return [_known(item) for item in value if _plaintext(item) != UNKNOWN]
    return value


class Schemas:
    """The providers' schemas (`pulumi package get-schema` of each plugin the engine uses),
    for the type of an output the plan leaves unknown."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
        self._loaded: dict[str, dict[str, Any]] = {}

    def _schema(self, package: str) -> dict[str, Any]:
        if package not in self._loaded:
            self._loaded[package] = self._workspace.schema(package)
        return self._loaded[package]

    def settle(self, type_: str, outputs: Mapping[str, Any]) -> dict[str, Any]:
        """``outputs`` with every unknown value a zero of its type (an empty string, 0,
        false, an empty list or map): what the cloud leaves empty."""
        package = type_.split(":", 1)[0]
        schema = self._schema(package)
        spec = {"properties": schema.get("resources", {}).get(type_, {}).get("properties", {})}
        return self._settled(dict(outputs), spec, schema)

    def _settled(self, value: Any, spec: Mapping[str, Any], schema: Mapping[str, Any]) -> Any:
        ref = spec.get("$ref", "")
        if ref.startswith("#/types/"):
            spec = schema.get("types", {}).get(ref[len("#/types/") :], {})
        if isinstance(value, dict) and value.get(SECRET) == SECRET_VALUE and "plaintext" in value:
            return _secret(self._settled(json.loads(value["plaintext"]), spec, schema))
        if value == UNKNOWN:
            if "properties" in spec or spec.get("type") == "object":
                return {}
            return {"integer": 0, "number": 0, "boolean": False, "array": []}.get(
                spec.get("type", "string"), ""
            )
        if isinstance(value, dict):
            properties = spec.get("properties")
            return {
                key: self._settled(item, properties.get(key, {}) if properties else
                                   spec.get("additionalProperties", {}), schema)
                for key, item in value.items()
            }  # fmt: skip
        if isinstance(value, list):
            return [self._settled(item, spec.get("items", {}), schema) for item in value]
        return value


def _applied(old: Mapping[str, Any], diff: Mapping[str, Any]) -> dict[str, Any]:
    """Old inputs with a plan's inputDiff applied (adds, updates, deletes)."""
    new = {k: v for k, v in old.items() if k not in set(diff.get("deletes") or [])}
    new.update(diff.get("adds") or {})
    new.update(diff.get("updates") or {})
    return new


def _plaintext(value: Any) -> Any:
    if isinstance(value, dict) and value.get(SECRET) == SECRET_VALUE:
        return json.loads(value["plaintext"])
    return value


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def ed25519_key() -> dict[str, Any]:
    """A real ed25519 key in every form pulumi-tls keeps in its state (its provider parses
    them when it plans a change): made by openssl, the OpenSSH forms built from its bytes."""
    pem = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "ed25519"], capture_output=True, check=True
    ).stdout
    public_pem = subprocess.run(
        ["openssl", "pkey", "-pubout"], input=pem, capture_output=True, check=True
    ).stdout
    seed = base64.b64decode(b"".join(pem.splitlines()[1:-1]))[-32:]
    public = base64.b64decode(b"".join(public_pem.splitlines()[1:-1]))[-32:]
    blob = _ssh_string(b"ssh-ed25519") + _ssh_string(public)
    check = os.urandom(4)
    private = check + check + blob + _ssh_string(seed + public) + _ssh_string(b"")
    private += bytes(range(1, 1 + (-len(private) % 8)))
    body = b"openssh-key-v1\0" + _ssh_string(b"none") + _ssh_string(b"none") + _ssh_string(b"")
    body += struct.pack(">I", 1) + _ssh_string(blob) + _ssh_string(private)
    encoded = base64.b64encode(body).decode()
    lines = [encoded[i : i + 70] for i in range(0, len(encoded), 70)]
    md5 = hashlib.md5(blob).hexdigest()  # what pulumi-tls reports (not for security)
    return {
        "privateKeyPem": pem.decode(),
        "privateKeyPemPkcs8": pem.decode(),
        "privateKeyOpenssh": "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        + "\n".join(lines)
        + "\n-----END OPENSSH PRIVATE KEY-----\n",
        "publicKeyPem": public_pem.decode(),
        "publicKeyOpenssh": f"ssh-ed25519 {base64.b64encode(blob).decode()}\n",
        "publicKeyFingerprintMd5": ":".join(md5[i : i + 2] for i in range(0, 32, 2)),
        "publicKeyFingerprintSha256": "SHA256:"
        + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("="),
    }


PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SECRET_KEY_FORMS = ("privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh")


class Deployment:
    """The state being built: one entry a resource, by URN."""

    def __init__(self, schemas: Schemas) -> None:
        self.resources: dict[str, dict[str, Any]] = {}
        self._schemas = schemas
        self._new_ids: dict[str, str] = {}
        """The id each resource the update would create gets."""
        self._versions: dict[str, int] = dict(SCHEMA_VERSIONS)
        """A resource's state schema version, by type (known, or learned)."""

    def learn(self, failure: str) -> bool:
        """Learn a state schema version from a plan that failed for want of it (the engine
        names the resource; its provider, the version it found and can't upgrade from);
        whether there was one to learn."""
        learned = False
        for line in failure.splitlines():
            found = UPGRADE_FAILED.search(line)
            if not found:
                continue
            urn = next(u for u in self.resources if u.endswith(f"::{found['name']}"))
            kind = self.resources[urn]["type"]
            self._versions[kind] = int(found["version"]) + 1
            learned = True
        for state in self.resources.values():
            if state["type"] in self._versions:
                meta = json.loads(state["outputs"].get("__meta") or "{}")
                meta["schema_version"] = str(self._versions[state["type"]])
                state["outputs"]["__meta"] = json.dumps(meta)
        return learned

    def apply(self, plan: Mapping[str, Any], triggers: Mapping[str, Any]) -> list[str]:
        """Take what the engine planned; return the URNs it would change."""
        changed = []
        planned = plan["resourcePlans"]
        for urn, resource in planned.items():  # the ids the new resources will get, first
            goal = resource["goal"]
            if urn not in self.resources and goal.get("custom"):
                self._new_ids[urn] = self._new_id(urn, goal)
        for urn, resource in planned.items():
            steps = resource.get("steps") or []
            if set(steps) <= {"same"} and urn in self.resources:
                continue
            changed.append(urn)
            if steps == ["delete"]:
                self.resources.pop(urn, None)
                continue
            self.resources[urn] = self._state(urn, resource)
        for urn in set(self.resources) - set(planned):
            changed.append(urn)
            del self.resources[urn]
        for urn, trigger in triggers.items():  # as the engine records it, once it is known
            state = self.resources.get(urn)
            known = state is not None and not _has_unknown(trigger)
            if known and state.get("replacementTrigger") != trigger:
                state["replacementTrigger"] = trigger
                changed.append(urn)
        for state in self.resources.values():  # provider references name the ids now known
            if state.get("provider"):
                provider = state["provider"].rsplit("::", 1)[0]
                state["provider"] = f"{provider}::{self.resources[provider]['id']}"
        return changed

    def _state(self, urn: str, resource: Mapping[str, Any]) -> dict[str, Any]:
        goal = resource["goal"]
        steps = resource.get("steps") or []
        replaced = "replace" in steps or "create-replacement" in steps
        old = {} if replaced else self.resources.get(urn, {})
        kind, name = goal["type"], goal["name"]
        custom = bool(goal.get("custom"))
        if custom:
            inputs = _applied(old.get("inputs", {}), goal.get("inputDiff") or {})
            inputs = _known(self._ids(inputs, goal.get("propertyDependencies") or {}))
            outputs = dict(old.get("outputs", {}))
            # The bridge's record of the raw planned state would no longer match these
            # outputs; without it, it reads them as they are.
            planned = {
                k: v for k, v in (resource.get("state") or {}).items() if k != RAW_STATE_DELTA
            }
            settled = (
                self._schemas.settle(kind, planned) if not kind.startswith("pulumi:") else planned
            )
            for key, value in settled.items():
                if _plaintext(planned.get(key)) != UNKNOWN or key not in outputs:  # kept
                    outputs[key] = value
            outputs["__meta"] = old.get("outputs", {}).get("__meta", outputs.get("__meta"))
            outputs.update(inputs)
        else:
            inputs = {}
            outputs = _known(_applied(old.get("outputs", {}), goal.get("outputDiff") or {}))
        state: dict[str, Any] = {"urn": urn, "custom": custom, "type": kind}
        if custom:
            _, computed, secrets = created(
                kind, name, {k: _plaintext(v) for k, v in inputs.items()}
            )
            if kind == PRIVATE_KEY and not old:
                computed = ed25519_key()
                secrets = set(SECRET_KEY_FORMS)
            if not old:  # what the cloud made stays as it made it
                for key, value in computed.items():
                    if key not in inputs:
                        outputs[key] = _secret(value) if key in secrets else value
            state["id"] = old.get("id") or self._new_ids[urn]
            if "id" in outputs:
                outputs["id"] = state["id"]
        state.update(inputs=inputs, outputs=outputs)
        for key in ("parent", "protect", "additionalSecretOutputs", "dependencies"):
            if goal.get(key):
                state[key] = goal[key]
        if goal.get("propertyDependencies"):
            state["propertyDependencies"] = goal["propertyDependencies"]
        if goal.get("provider"):
            state["provider"] = goal["provider"]
        if kind in self._versions:
            meta = json.loads(outputs.get("__meta") or "{}")
            meta["schema_version"] = str(self._versions[kind])
            outputs["__meta"] = json.dumps(meta)
        return state

    @staticmethod
    def _new_id(urn: str, goal: Mapping[str, Any]) -> str:
        if goal["type"].startswith("pulumi:providers:"):
            return str(uuid.uuid5(uuid.NAMESPACE_URL, urn))
        adds = (goal.get("inputDiff") or {}).get("adds") or {}
        return created(goal["type"], goal["name"], {k: _plaintext(v) for k, v in adds.items()})[0]

    def _ids(self, inputs: dict[str, Any], dependencies: Mapping[str, list[str]]) -> dict[str, Any]:
        """An input still unknown that came from other resources (a project's, a VPC's id)
        takes their ids, as the update will give it: a provider plans a change from its
        state, and some can't with an empty id there."""
        found = dict(inputs)
        for key, value in inputs.items():
            ids = [
                self.resources[u]["id"] if u in self.resources else self._new_ids[u]
                for u in dependencies.get(key, [])
                if u in self._new_ids or "id" in self.resources.get(u, {})
            ]
            if value == UNKNOWN and len(ids) == 1:
                found[key] = ids[0]
            elif isinstance(value, list) and UNKNOWN in value and len(ids) == value.count(UNKNOWN):
                rest = iter(ids)
                found[key] = [next(rest) if item == UNKNOWN else item for item in value]
        return found

    def ordered(self) -> list[dict[str, Any]]:
        """Every resource after what it depends on (its parent, provider, dependencies)."""
        done: set[str] = set()
        order: list[dict[str, Any]] = []

        def needs(state: Mapping[str, Any]) -> Iterator[str]:
            yield from filter(
                None, [state.get("parent"), (state.get("provider") or "").rsplit("::", 1)[0]]
            )
            yield from state.get("dependencies") or []
            for urns in (state.get("propertyDependencies") or {}).values():
                yield from urns

        def visit(urn: str) -> None:
            if urn in done or urn not in self.resources:
                return
            done.add(urn)
            for needed in needs(self.resources[urn]):
                visit(needed)
            order.append(self.resources[urn])

        for urn in sorted(self.resources, key=lambda u: "::pulumi:pulumi:Stack::" not in u):
            visit(urn)
        return order


UNPLANNABLE = ("**mongodbatlas:index/advancedCluster:AdvancedCluster::*",)
"""What a provider can't plan a change of from a state built without its cloud: the
Atlas cluster (its provider's plan modifier reads replication specs as Atlas describes
them, and panics on these). Each preview of a stack with state passes these to
--exclude: they keep their state, never diffed."""
EXCLUDED = tuple(arg for pattern in UNPLANNABLE for arg in ("--exclude", pattern))


def deploy_without_cloud(workspace: Workspace, stack: str) -> int:
    """Bring ``stack`` in ``workspace`` to the state an update would leave; returns how
    many plans it took."""
    deployment = Deployment(Schemas(workspace))
    for round_ in range(1, ROUNDS + 1):
        try:
            plan, triggers = workspace.plan(stack, *(EXCLUDED if round_ > 1 else ()))
        except PlanError as error:
            if not deployment.learn(str(error)):
                raise
            workspace.import_state(stack, deployment.ordered())
            continue
        if not deployment.apply(plan, triggers) and round_ > 1:
            return round_
        workspace.import_state(stack, deployment.ordered())
    raise AssertionError(f"the state of {stack} did not settle in {ROUNDS} plans")
