"""matra-infra's CrossGuard rules, importable without starting a policy server."""

from . import backup, hardening, network

PACK_NAME = "matra-infra"
POLICIES = [*network.POLICIES, *backup.POLICIES, *hardening.POLICIES]
