"""The host contract the tests set host files up with: the program's usual values (the app
on 8080 with /healthz, ops and deploy), any of them changed by a test."""

from __future__ import annotations

import dataclasses
from typing import Any

from matra.hostsetup import HostContract

CONTRACT = HostContract(
    image="registry.digitalocean.com/matra/api",
    app_port=8080,
    health_path="/healthz",
    server_name="api.matra.io",
    admin_user="ops",
    deploy_user="deploy",
)


def contract_with(**changes: Any) -> HostContract:
    """CONTRACT with ``changes`` (its fields by name)."""
    return dataclasses.replace(CONTRACT, **changes)
