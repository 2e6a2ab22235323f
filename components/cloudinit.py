"""Cloud-init user data for the API droplets, rendered from a template file."""

from __future__ import annotations

import yaml

from .rendering import render

API_TEMPLATE = "api-cloud-init.yaml.j2"
CACHE_TEMPLATE = "redis-cloud-init.yaml.j2"
DOCKER_SCRIPT = "install-docker.sh.j2"


def _checked(name: str, document: str) -> str:
    parsed = yaml.safe_load(document)
    if not document.startswith("#cloud-config\n") or not isinstance(parsed, dict):
        raise ValueError(f"{name} did not render to a #cloud-config mapping")
    return document


def api_user_data(*, admin_user: str, admin_key: str, deploy_user: str, deploy_key: str,
                  app_port: int, health_path: str, server_name: str) -> str:
    """The #cloud-config document for an API droplet.

    Only public material goes in (user names, the admin user's automation key, the
    deploy job's key, ports, paths): user data is readable on the droplet's metadata
    endpoint and a change to it replaces the droplet. Operators' keys come over SSH.
    """
    return _checked(API_TEMPLATE, render(
        API_TEMPLATE, admin_user=admin_user, admin_key=admin_key, deploy_user=deploy_user,
        deploy_key=deploy_key, app_port=app_port, health_path=health_path,
        server_name=server_name, docker_script=render(DOCKER_SCRIPT).rstrip("\n")))


def cache_user_data(*, admin_user: str, admin_key: str, vpc_ip_range: str) -> str:
    """The #cloud-config document for the cache droplet (no password: that comes over
    SSH on stdin)."""
    return _checked(CACHE_TEMPLATE, render(
        CACHE_TEMPLATE, admin_user=admin_user, admin_key=admin_key,
        vpc_ip_range=vpc_ip_range))
