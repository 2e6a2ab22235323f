"""Cloud-init user data for the API droplets, rendered from a template file."""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from .rendering import render

API_TEMPLATE = "api-cloud-init.yaml.j2"
CACHE_TEMPLATE = "redis-cloud-init.yaml.j2"


def _checked(name: str, document: str) -> str:
    parsed = yaml.safe_load(document)
    if not document.startswith("#cloud-config\n") or not isinstance(parsed, dict):
        raise ValueError(f"{name} did not render to a #cloud-config mapping")
    return document


def api_user_data(*, deploy_user: str, authorized_keys: Sequence[str], app_port: int,
                  health_path: str, server_name: str) -> str:
    """The #cloud-config document for an API droplet.

    Only public material goes in (user names, public keys, ports, paths): user data
    is readable on the droplet's metadata endpoint and a change to it replaces the
    droplet.
    """
    return _checked(API_TEMPLATE, render(
        API_TEMPLATE, deploy_user=deploy_user, authorized_keys=list(authorized_keys),
        app_port=app_port, health_path=health_path, server_name=server_name))


def cache_user_data(*, deploy_user: str, authorized_keys: Sequence[str],
                    vpc_ip_range: str) -> str:
    """The #cloud-config document for the cache droplet (no password: that comes over
    SSH on stdin)."""
    return _checked(CACHE_TEMPLATE, render(
        CACHE_TEMPLATE, deploy_user=deploy_user, authorized_keys=list(authorized_keys),
        vpc_ip_range=vpc_ip_range))
