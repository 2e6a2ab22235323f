"""Cloud-init user data for the droplets, rendered from template files."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import yaml

from .rendering import render

API_TEMPLATE = "api-cloud-init.yaml.j2"
CACHE_TEMPLATE = "redis-cloud-init.yaml.j2"
DOCKER_SCRIPT = "install-docker.sh.j2"


@dataclass
class HostSetup:
    """What cloud-init sets up on each API droplet besides the admin login (public values
    only)."""

    deploy_user: str
    deploy_key: pulumi.Input[str]
    """The deploy job's public key, for the deploy user."""
    app_port: int
    health_path: str
    server_name: str


# libyaml's parser where PyYAML was built with it (the pinned wheels are), else Python's.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _checked(name: str, document: str) -> str:
    parsed = yaml.load(document, Loader=_LOADER)
    if not document.startswith("#cloud-config\n") or not isinstance(parsed, dict):
        raise ValueError(f"{name} did not render to a #cloud-config mapping")
    return document


def api_user_data(
    setup: HostSetup,
    *,
    admin_user: str,
    admin_key: str,
    deploy_key: str,
    host_private_key: str,
    host_public_key: str,
) -> str:
    """The #cloud-config document for an API droplet (``deploy_key``: the resolved
    ``setup.deploy_key``).

    Public material (user names, the automation and deploy keys, ports, paths) and the
    droplet's own SSH host key: user data is readable on the droplet's metadata endpoint
    and a change to it replaces the droplet. Operators' keys and secrets come over SSH.
    """
    params = {**vars(setup), "deploy_key": deploy_key}
    return _checked(
        API_TEMPLATE,
        render(
            API_TEMPLATE,
            admin_user=admin_user,
            admin_key=admin_key,
            host_private_key=host_private_key,
            host_public_key=host_public_key,
            docker_script=render(DOCKER_SCRIPT).rstrip("\n"),
            **params,
        ),
    )


def cache_user_data(
    *,
    admin_user: str,
    admin_key: str,
    vpc_ip_range: str,
    host_private_key: str,
    host_public_key: str,
) -> str:
    """The #cloud-config document for the cache droplet (its host key; no password: that
    comes over SSH on stdin)."""
    return _checked(
        CACHE_TEMPLATE,
        render(
            CACHE_TEMPLATE,
            admin_user=admin_user,
            admin_key=admin_key,
            vpc_ip_range=vpc_ip_range,
            host_private_key=host_private_key,
            host_public_key=host_public_key,
        ),
    )
