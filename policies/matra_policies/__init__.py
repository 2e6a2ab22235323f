"""matra-infra's CrossGuard rules, importable without starting a policy server."""

from . import backup, hardening, network, observability, tls

PACK_NAME = "matra-infra"
POLICIES = [
    *network.POLICIES,
    *tls.POLICIES,
    *backup.POLICIES,
    *hardening.POLICIES,
    *observability.POLICIES,
]
