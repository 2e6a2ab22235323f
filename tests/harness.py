"""Run the program, or one component, under Pulumi mocks and record what it registers.

- ``stack_config(stack)`` builds the config the CLI would hand the program: the
  defaults declared in ``Pulumi.yaml`` overlaid with the real ``Pulumi.<stack>.yaml``
  (mocks apply neither by themselves).
- ``run_program(...)`` runs ``__main__.py`` on a fresh event loop with a recording
  monitor; ``build(factory)`` does the same for one component. Both return every
  registration as a ``Resource`` (inputs, wire form, parent, options) and the stack
  outputs resolved with their secret-ness.
- Both take the project: the main program at the repository root by default, or another
  one (``project=GITHUB``, the github/ program) with its own mocks.
- ``Resource`` is the one picture of a registered resource: the program tests read its
  ``inputs``, the policy harness hands its ``props`` (the wire form) to the pack.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import pulumi
import yaml
from google.protobuf import json_format

from matra.ssh import SshAccount, SshLogin
from pulumi_private import (
    UNKNOWN,
    MockMonitor,
    deserialize,
    is_secret_wire,
    run_body,
    secret_wire,
    serialize,
    sync,
    wire,
)

ROOT = Path(__file__).resolve().parent.parent
GITHUB = ROOT / "github"
"""The second program: the repositories' guardrails (github/Pulumi.yaml)."""


def project_name(project: Path = ROOT) -> str:
    """The name in a project's Pulumi.yaml (the namespace of its config keys)."""
    return str(_yaml_file(project / "Pulumi.yaml")["name"])


def project_stacks(project: Path = ROOT) -> tuple[str, ...]:
    """The stacks a project ships: one Pulumi.<stack>.yaml each."""
    return tuple(
        sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project.glob("Pulumi.*.yaml"))
    )


T = TypeVar("T")


def _config_string(value: Any) -> str:
    """A config value as the CLI passes it to the program: strings as they are,
    booleans lower-case, numbers as text, lists and maps as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


@functools.cache
def _yaml_file(path: Path) -> Any:
    """A project file, parsed once per test session."""
    return yaml.load(path.read_text(), Loader=yaml.CSafeLoader)


def project_defaults(project: Path = ROOT) -> dict[str, str]:
    name = project_name(project)
    declared = _yaml_file(project / "Pulumi.yaml").get("config") or {}
    return {
        f"{name}:{key}": _config_string(spec["default"])
        for key, spec in declared.items()
        if "default" in spec
    }


def stack_config(
    stack: str, project: Path = ROOT, secure_stand_in: str | None = None
) -> dict[str, str]:
    """Pulumi.yaml defaults overlaid with Pulumi.<stack>.yaml, as flat strings.

    A value the stack file holds encrypted (``secure:``) is refused, unless the caller
    gives a ``secure_stand_in`` to put in its place (a program whose secrets are
    required, whose tests set each one)."""
    values = project_defaults(project)
    stack_file = _yaml_file(project / f"Pulumi.{stack}.yaml") or {}
    for key, value in (stack_file.get("config") or {}).items():
        if isinstance(value, dict) and "secure" in value:
            if secure_stand_in is None:
                raise AssertionError(f"{key}: shipped stacks must not need a secret to preview")
            values[key] = secure_stand_in
            continue
        values[key] = _config_string(value)
    return values


PROJECT = project_name()
STACKS = project_stacks()


def fake_id(*parts: str) -> str:
    """A stable numeric id (DigitalOcean ids are numbers) from a resource's name."""
    return str(int(hashlib.sha256("/".join(parts).encode()).hexdigest()[:8], 16))


def mock_private_key(name: str) -> str:
    """The private key the mocks generate for the tls.PrivateKey named ``name``."""
    body = f"b3BlbnNzaC1rZXktdjE{fake_id('tls:index/privateKey:PrivateKey', name)}"
    return f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\n"


GENERATED_KEYS = ("ssh-automation", "ssh-deploy")

LOGIN = SshLogin(
    account=SshAccount(user="ops", private_key="AUTOMATION-PRIVATE-KEY"),
    public_key="ssh-ed25519 AAAAC3Nz automation",
    ssh_key_ids=["111"],
    admin_ssh_sources=["198.51.100.0/24"],
)
"""How a component test's program logs in to the droplets it builds."""

OPERATOR_VALUES = {"adminSshSources": ["81.2.69.0/28"], "atlasOrgId": "5f1e2d3c4b5a69788796a5b4"}
"""What an operator sets in place of the shipped stack files' placeholders before an
update (which refuses the placeholders)."""
SECRET_SETTINGS = ("appSecretEnv", "sentryDsn", "newRelicLicenseKey", "alertSlackWebhooks")
"""The settings that are secret whenever they are set (pulumi config set --secret)."""


def created(type_: str, name: str, inputs: Mapping[str, Any]) -> tuple[str, dict, set[str]]:
    """What the cloud answers when a resource is created: its id, the outputs it computes
    (beyond the inputs) and which of those are secrets. The mocks' answer, and the state
    the real-engine tests give a stack with no cloud (engine.Workspace.deploy)."""
    rid = fake_id(type_, name)
    computed: dict[str, Any] = {}
    secrets: set[str] = set()
    if type_ == "digitalocean:index/droplet:Droplet":
        # Addresses follow the name, not the (unordered) registration order:
        # api-N gets .(11+N); other droplets get .200 and up.
        suffix = name.rsplit("-", 1)[-1]
        host = 11 + int(suffix) if suffix.isdigit() else 200 + int(rid) % 50
        computed.update(
            ipv4Address=f"203.0.113.{host}",
            ipv4AddressPrivate=f"10.0.0.{host}",
            dropletUrn=f"do:droplet:{rid}",
        )
    elif type_ == "digitalocean:index/loadBalancer:LoadBalancer":
        computed.update(ip="198.51.100.200", loadBalancerUrn=f"do:loadbalancer:{rid}")
    elif type_ == "digitalocean:index/reservedIp:ReservedIp":
        computed.update(ipAddress="192.0.2.50", reservedIpUrn="do:floatingip:192.0.2.50")
        rid = "192.0.2.50"
    elif type_ == "digitalocean:index/vpc:Vpc":
        if not inputs.get("ipRange"):
            computed["ipRange"] = "10.0.0.0/20"
    elif type_ == "tls:index/privateKey:PrivateKey":
        computed.update(
            publicKeyOpenssh=f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA{rid} generated\n",
            privateKeyOpenssh=mock_private_key(name),
        )
        secrets.add("privateKeyOpenssh")
    elif type_ == "mongodbatlas:index/advancedCluster:AdvancedCluster":
        computed["connectionStrings"] = {
            "standardSrv": f"mongodb+srv://{inputs['name']}.ab1cd.mongodb.net"
        }
    elif type_ == "digitalocean:index/databaseCluster:DatabaseCluster":
        host = f"private-{inputs['name']}-do-user-1.k.db.ondigitalocean.com"
        computed.update(
            privateHost=host,
            clusterUrn=f"do:dbaas:{rid}",
            privateUri=f"rediss://default:VALKEYPASS{rid}@{host}:25061",
        )
    elif type_ == "random:index/randomPassword:RandomPassword":
        computed["result"] = f"Pw{rid}{'x' * 30}"
        secrets.add("result")
        rid = "none"
    elif type_ == (
        "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials"
    ):
        computed["dockerCredentials"] = (
            '{"auths":{"registry.digitalocean.com":{"auth":"UkVHSVNUUllUT0tFTg=="}}}'
        )
        secrets.add("dockerCredentials")
    elif type_ == "command:remote:Command":
        computed["stdout"] = ""
    elif type_ == "digitalocean:index/sshKey:SshKey":
        computed["fingerprint"] = f"SHA256:{rid}"
    elif type_ == "digitalocean:index/tag:Tag":
        rid = inputs["name"]
    return rid, computed, secrets


class MatraMocks(pulumi.runtime.Mocks):
    """Echo inputs back as state and fill in what the provider would compute.

    With ``engine_preview`` it answers as the engine does in a preview of a new stack:
    no id and no computed outputs, so everything derived from them is unknown."""

    def __init__(self, engine_preview: bool = False) -> None:
        self.engine_preview = engine_preview

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        rid, state = self._created(args)
        if not self.engine_preview:
            return rid, state
        # What a preview of a new resource knows: its inputs; every output the provider
        # computes is unknown (a secret one still a secret: the mocks' only Outputs are
        # secrets), and so is its id.
        for key, value in state.items():
            if key not in args.inputs:
                state[key] = secret_wire(UNKNOWN) if isinstance(value, pulumi.Output) else UNKNOWN
        return ("" if args.custom else None), state

    def _created(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        """The id and state a created resource would have (its secret outputs secrets)."""
        rid, computed, secrets = created(args.typ, args.name, args.inputs)
        state = dict(args.inputs)
        for key, value in computed.items():
            state[key] = pulumi.Output.secret(value) if key in secrets else value
        return (rid if args.custom else None), state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        raise AssertionError(
            f"unexpected invoke {args.token}: the program must not read the cloud during a preview"
        )


@dataclass
class Resource:
    """One resource as the engine sees it registered: what the program tests assert on
    (``inputs``) and what a policy pack is handed (``props``: the wire form, unknowns as
    the engine's sentinel, secrets wrapped).

    Built by the recording monitor for a program run, or by hand for a policy test:
    ``Resource(DROPLET, "api-0", {"sshKeys": []})``."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    protect: bool = False
    parent: str = ""
    dependencies: Sequence[str] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    """The inputs as Python values (secrets still wrapped: see ``plain``)."""
    custom: bool = True
    ignore_changes: list[str] = field(default_factory=list)
    additional_secret_outputs: list[str] = field(default_factory=list)
    provider: str = ""
    """The provider reference the program gave ("" for the package's default provider)."""
    version: str = ""
    """The provider package's version the SDK asked for (the default provider's)."""
    provider_config: Mapping[str, str] = field(default_factory=dict)
    """The stack's config the default provider of its package is configured with (the
    whole stack config: the provider takes its package's keys)."""
    delete_before_replace: bool = False
    delete_before_replace_defined: bool = False
    """Whether the program set delete_before_replace (either way) rather than leaving it to
    the provider."""
    replacement_trigger: Any = None
    """The value whose change replaces the resource (ResourceOptions.replacement_trigger)."""
    state: dict[str, Any] = field(default_factory=dict)
    """What the mock provider returned (inputs plus computed outputs)."""
    id: str | None = None
    """The id the mock provider gave a custom resource ("" in a preview of a new stack)."""
    outputs: Mapping[str, Any] = field(default_factory=dict)
    """In the wire form: what the mock provider returned for a custom resource (its state),
    or what a component registered (register_outputs)."""
    aliases: list[dict[str, Any]] = field(default_factory=list)
    """Its aliases as the SDK sent them (alias specs: ``{"spec": {"parentUrn": ...}}``,
    ``{"spec": {"noParent": true}}``, or ``{"urn": ...}``)."""

    def __post_init__(self) -> None:
        if not self.urn:
            self.urn = f"urn:pulumi:test::{PROJECT}::{self.type}::{self.name}"
        if not self.inputs:
            self.inputs = dict(self.props)


class RecordingMonitor(MockMonitor):
    """A MockMonitor that keeps each RegisterResource request's options too."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Resource] = []
        self.registered_outputs: dict[str, dict[str, Any]] = {}
        """Each component's (and the stack's) register_outputs, by URN, in the wire form."""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """A URN as the engine makes it: the parent's whole type chain, then the type; a
        child of the stack has its type alone (the SDK's mocks differ on both counts)."""
        qualified = parent.split("::")[2] if parent else ""
        if qualified and qualified != "pulumi:pulumi:Stack":
            type_ = f"{qualified}${type_}"
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{type_}::{name}"

    def RegisterResourceOutputs(self, request):  # noqa: N802 (gRPC method name)
        self.registered_outputs[request.urn] = wire(request.outputs)
        return super().RegisterResourceOutputs(request)

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        # As the engine does: the outputs a resource names as secret come back secrets.
        state = wire(response.object)
        for key in request.additionalSecretOutputs:
            if key in state and not is_secret_wire(state[key]):
                response.object.update({key: secret_wire(state[key])})
        if request.type != "pulumi:pulumi:Stack":
            registered = self.resources.get(response.urn)
            self.registrations.append(
                Resource(
                    type=request.type,
                    name=request.name,
                    props=wire(request.object),
                    urn=response.urn,
                    protect=bool(request.protect),
                    parent=request.parent,
                    dependencies=list(request.dependencies),
                    property_dependencies={
                        key: list(deps.urns) for key, deps in request.propertyDependencies.items()
                    },
                    inputs=deserialize(request.object),
                    custom=bool(request.custom),
                    ignore_changes=list(request.ignoreChanges),
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                    provider=request.provider,
                    version=request.version,
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    delete_before_replace_defined=bool(request.deleteBeforeReplaceDefined),
                    replacement_trigger=json_format.MessageToDict(request.replacement_trigger)
                    if request.HasField("replacement_trigger")
                    else None,
                    state=registered.state if registered is not None else {},
                    id=response.id if request.custom else None,
                    outputs=wire(response.object) if request.custom else {},
                    aliases=[json_format.MessageToDict(alias) for alias in request.aliases],
                )
            )
        return response


@dataclass
class Resolved:
    value: Any
    secret: bool
    known: bool = True


@dataclass
class ProgramRun:
    registrations: list[Resource]
    outputs: dict[str, Resolved] = field(default_factory=dict)
    error: BaseException | None = None
    warnings: list[str] = field(default_factory=list)
    """What the program logged as warnings (pulumi.log.warn), in order."""
    infos: list[str] = field(default_factory=list)
    """What the program logged as information (pulumi.log.info), in order."""
    stack_outputs: dict[str, Any] = field(default_factory=dict)
    """The stack's outputs in the wire form (what the engine records for the stack)."""
    errors: list[str] = field(default_factory=list)
    """What the program logged as errors (pulumi.log.error), in order."""
    exit_status: Any = None
    """The status the program ended with by SystemExit (None: it did not)."""
    config: dict[str, str] = field(default_factory=dict)
    """The config the program ran with (full keys): a provider's own (github:owner) is
    what the engine configures its default provider with."""

    def of_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.registrations if r.type == type_token]

    def one(self, type_token: str) -> Resource:
        found = self.of_type(type_token)
        assert len(found) == 1, f"expected one {type_token}, found {len(found)}"
        return found[0]

    def api_droplets(self) -> list[Resource]:
        """The API fleet's droplets (api-0, api-1, ...), in index order."""
        found = [
            r
            for r in self.of_type("digitalocean:index/droplet:Droplet")
            if "::matra:index:DropletFleet$matra:index:ApiHost::api-" in r.parent
        ]
        return sorted(found, key=lambda r: int(r.name.rsplit("-", 1)[1]))

    def by_name(self, name: str) -> Resource:
        found = [r for r in self.registrations if r.name == name]
        assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
        return found[0]


class _Log(logging.Handler):
    """Keeps what the program logs: errors, warnings and information, apart."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.warnings: list[str] = []
        self.infos: list[str] = []
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.ERROR:
            self.errors.append(record.getMessage())
        elif record.levelno == logging.WARNING:
            self.warnings.append(record.getMessage())
        elif record.levelno == logging.INFO:
            self.infos.append(record.getMessage())


Mocks = Callable[[bool], pulumi.runtime.Mocks]
"""Builds a program's mocks, given whether to answer like the engine's preview."""


_LOOPS: list[asyncio.AbstractEventLoop] = []
"""The last run's event loop (none before the first run)."""


def _new_event_loop() -> None:
    """A new event loop for a run; the last run's, done with, is closed (else every run
    leaves a loop, its sockets and threads for the interpreter to reap at exit)."""
    if _LOOPS:
        _LOOPS.pop().close()
    _LOOPS.append(asyncio.new_event_loop())
    asyncio.set_event_loop(_LOOPS[0])


def _fresh_runtime(
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    preview: bool,
    engine_preview: bool,
    project: str,
    mocks_for: Mocks,
) -> tuple[RecordingMonitor, _Log]:
    _new_event_loop()
    pulumi.runtime.reset_options(project=project, stack=stack, preview=preview)
    pulumi.runtime.set_all_config(config, secret_keys)
    mocks = mocks_for(engine_preview)
    monitor = RecordingMonitor(mocks)
    log = _Log()
    logger = logging.Logger(f"pulumi-{stack}", level=logging.INFO)
    logger.addHandler(log)
    pulumi.runtime.set_mocks(
        mocks, project=project, stack=stack, preview=preview, monitor=monitor, logger=logger
    )
    return monitor, log


async def _resolve(value: Any) -> Resolved:
    output = pulumi.Output.from_input(value)
    return Resolved(
        value=await output.future(), secret=await output.is_secret(), known=await output.is_known()
    )


def run(
    body: Callable[[], Any],
    *,
    stack: str = "dev",
    config: dict[str, str] | None = None,
    secret_keys: list[str] | None = None,
    preview: bool = False,
    engine_preview: bool = False,
    project: str = PROJECT,
    mocks: Mocks | None = None,
) -> ProgramRun:
    """Run ``body`` (a program, or code that builds components) under mocks: the main
    program's unless ``project`` and ``mocks`` say otherwise."""
    monitor, log = _fresh_runtime(
        stack,
        config or {},
        secret_keys or [],
        preview or engine_preview,
        engine_preview,
        project,
        mocks or (lambda engine_preview: MatraMocks(engine_preview=engine_preview)),
    )
    result = ProgramRun(
        registrations=monitor.registrations,
        warnings=log.warnings,
        infos=log.infos,
        errors=log.errors,
        config=dict(config or {}),
    )
    try:
        run_body(body)
    except Exception as error:
        result.error = error
        return result
    except SystemExit as stopped:  # the program showed its error and ended (settings.stop)
        result.error = stopped.__cause__ or stopped
        result.exit_status = stopped.code
        return result
    stack_resource = pulumi.runtime.get_root_resource()
    assert stack_resource is not None
    for name, value in stack_resource.outputs.items():
        result.outputs[name] = sync(_resolve(value))
    for registered in result.registrations:
        if not registered.custom:
            registered.outputs = monitor.registered_outputs.get(registered.urn, {})
    result.stack_outputs = serialize(stack_resource.outputs)
    return result


def build(factory: Callable[[], T], *, stack: str = "test") -> tuple[ProgramRun, T]:
    """Build one component (whatever ``factory`` returns) under mocks; it must succeed."""
    holder: list[T] = []
    result = run(lambda: holder.append(factory()), stack=stack)
    assert result.error is None, result.error
    return result, holder[0]


_RUNS: dict[str, ProgramRun] = {}


def run_program(
    stack: str = "dev",
    *,
    overrides: dict[str, Any] | None = None,
    unset: tuple[str, ...] = (),
    secret_keys: tuple[str, ...] = (),
    preview: bool = True,
    engine_preview: bool = False,
    fresh: bool = False,
    project: Path = ROOT,
    mocks: Mocks | None = None,
    secure_stand_in: str | None = None,
) -> ProgramRun:
    """Run __main__.py with the stack's real config, changed by ``overrides``
    (short keys, values as in a stack file) and ``unset`` (short keys); as a preview
    (what every pull request runs) unless ``preview=False`` (an update).
    ``engine_preview`` leaves every computed output unknown, as a real preview of a new
    stack does.

    ``project`` is the program's directory (the repository root, or ``GITHUB``), with
    ``mocks`` for its providers (the main program's by default) and, for a stack file
    that holds encrypted values, a ``secure_stand_in`` for them (see ``stack_config``).

    Under mocks the program is deterministic, so a run with the same arguments is done
    once per test process; each caller gets its own copy of the registrations.
    ``fresh`` runs it again, for that caller alone (a test that patches the program's
    code)."""
    args = (stack, overrides, unset, secret_keys, preview, engine_preview, secure_stand_in)
    # The mocks are part of what a run answers: a functools.partial's repr names its
    # arguments (a lambda's names only its address, so it is never answered from another).
    key = json.dumps([str(project), repr(mocks), *args])
    if fresh:  # a patched program: its run is its caller's alone
        done = _run_program(*args, project=project, mocks=mocks)
    else:
        if key not in _RUNS:
            _RUNS[key] = _run_program(*args, project=project, mocks=mocks)
        done = _RUNS[key]
    return ProgramRun(
        registrations=[replace(r) for r in done.registrations],
        outputs=dict(done.outputs),
        error=done.error,
        warnings=list(done.warnings),
        infos=list(done.infos),
        stack_outputs=dict(done.stack_outputs),
        errors=list(done.errors),
        exit_status=done.exit_status,
        config=dict(done.config),
    )


@functools.cache
def _compiled(path: Path) -> types.CodeType:
    return compile(path.read_text(), str(path), "exec")


def _run_program(
    stack: str,
    overrides: dict[str, Any] | None,
    unset: tuple[str, ...],
    secret_keys: tuple[str, ...],
    preview: bool,
    engine_preview: bool,
    secure_stand_in: str | None,
    *,
    project: Path,
    mocks: Mocks | None,
) -> ProgramRun:
    name = project_name(project)
    config = stack_config(stack, project, secure_stand_in)
    for key, value in (overrides or {}).items():
        config[f"{name}:{key}"] = _config_string(value)
    for key in unset:
        config.pop(f"{name}:{key}", None)
    main = project / "__main__.py"
    return run(
        # As `runpy.run_path(main, run_name="__main__")`, compiled once per session.
        lambda: exec(_compiled(main), {"__name__": "__main__", "__file__": str(main)}),
        stack=stack,
        config=config,
        preview=preview,
        engine_preview=engine_preview,
        secret_keys=[f"{name}:{k}" for k in secret_keys],
        project=name,
        mocks=mocks,
    )


def resolve(value: Any) -> Resolved:
    """Resolve an Output (or plain value) inside the current mock runtime."""
    return sync(_resolve(value))


def is_secret_input(value: Any) -> bool:
    """Whether a registered input arrived wrapped as a secret."""
    return is_secret_wire(value)


def plain(value: Any) -> Any:
    """A registered input with any secret wrapping removed (recursively)."""
    if is_secret_input(value):
        return plain(value["value"])
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def changed(before: ProgramRun, after: ProgramRun) -> set[str]:
    """Names of the resources of ``after`` whose inputs differ from ``before``'s (same
    URNs): what a change to the config touches."""
    return {
        r.name
        for r in after.registrations
        if r.inputs != next(b for b in before.registrations if b.urn == r.urn).inputs
    }


def update(stack: str = "prod", **overrides: Any) -> ProgramRun:
    """``pulumi up`` of a shipped stack with the operator's values in place of its
    placeholders, changed by ``overrides``; each secret setting secret when it is set.
    (One cache key per change, whoever asks.)"""
    return run_program(
        stack,
        overrides={**OPERATOR_VALUES, **overrides},
        secret_keys=SECRET_SETTINGS,
        preview=False,
    )
