"""Every use of a private Pulumi API in the tests, in one place.

The tests run the program and the policy pack the way the engine does, without an
engine: that needs a few of the SDKs' internals (the mock monitor to subclass, the
runner of a program body, the wire encoding of secrets and unknowns, pulumi-policy's
analyzer servicer). They are named here once, so an SDK upgrade that moves one breaks
this file alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi.runtime import resource as _resource
from pulumi.runtime import rpc as _rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
from pulumi_policy import EnforcementLevel, Policy
from pulumi_policy.policy import _PolicyAnalyzerServicer

T = TypeVar("T")

__all__ = [
    "UNKNOWN",
    "MockMonitor",
    "analyzer_servicer",
    "deserialize",
    "is_secret_wire",
    "proto",
    "run_body",
    "secret_wire",
    "serialize",
    "sync",
    "wire",
]

# The SDK walks the Python stack on every registration to tell the engine which source line
# created the resource (for the CLI's display). No test reads it, and it is a fifth of the
# time a program run takes under mocks: send an empty trace instead.
_resource._get_stack_trace = lambda: _resource.source_pb2.StackTrace()

UNKNOWN = _rpc.UNKNOWN
"""How the engine sends a value not known yet (a computed output during a preview)."""


def secret_wire(value: Any) -> dict[str, Any]:
    """A property value as the engine sends a secret."""
    return {_rpc._special_sig_key: _rpc._special_secret_sig, "value": value}


def is_secret_wire(value: Any) -> bool:
    """Whether a property value is a secret in the engine's wire encoding."""
    return isinstance(value, dict) and value.get(_rpc._special_sig_key) == _rpc._special_secret_sig


def deserialize(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A registration's properties as Python values (secrets still wrapped)."""
    return _rpc.deserialize_properties(struct)


def wire(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A registration's properties exactly as sent on the wire."""
    return json_format.MessageToDict(struct)


def serialize(values: dict[str, Any]) -> dict[str, Any]:
    """Values (outputs among them) in the wire form, as the SDK sends a resource's outputs."""
    return wire(_sync_await(_rpc.serialize_properties(values, {})))


def sync(awaitable: Awaitable[T]) -> T:
    """Wait for an awaitable on the mock runtime's event loop."""
    return _sync_await(awaitable)


def run_body(body: Callable[[], Any]) -> None:
    """Run a program body the way the language host does (in a stack, all outputs
    awaited)."""
    _sync_await(run_pulumi_func(body))


def analyzer_servicer(
    pack: str, version: str, policies: Sequence[Policy], level: EnforcementLevel
) -> Any:
    """pulumi-policy's servicer: the object a PolicyPack serves over gRPC."""
    return _PolicyAnalyzerServicer(pack, version, list(policies), level)
