"""matra-infra's CrossGuard rules, importable without starting a policy server. One pack
serves both programs (the stacks at the root, and github/): a rule checks its own
resource types and is silent where none are registered."""

from . import backup, cost, github, hardening, network, observability, tls

PACK_NAME = "matra-infra"
POLICIES = [
    *network.POLICIES,
    *tls.POLICIES,
    *backup.POLICIES,
    *hardening.POLICIES,
    *cost.POLICIES,
    *github.POLICIES,
    *observability.POLICIES,
]
