"""Cloud-init user data for the droplets, rendered from template files."""

from __future__ import annotations

import yaml

from .rendering import render

API_TEMPLATE = "api-cloud-init.yaml.j2"
CACHE_TEMPLATE = "redis-cloud-init.yaml.j2"


# libyaml's parser where PyYAML was built with it (the pinned wheels are), else Python's.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _checked(name: str, document: str) -> str:
    parsed = yaml.load(document, Loader=_LOADER)
    if not document.startswith("#cloud-config\n") or not isinstance(parsed, dict):
        raise ValueError(f"{name} did not render to a #cloud-config mapping")
    return document


def api_user_data(
    *,
    admin_user: str,
    admin_key: str,
    deploy_user: str,
    host_private_key: str,
    host_public_key: str,
) -> str:
    """The #cloud-config document for an API droplet's first boot: the admin user with the
    automation key, the deploy user (its key arrives with HostSetup), the droplet's own
    SSH host key, sshd and ufw. User data is readable on the droplet's metadata endpoint
    and a change to it replaces the droplet, so it holds nothing that changes with the
    app or the setup, and nothing secret but the host key."""
    return _checked(
        API_TEMPLATE,
        render(
            API_TEMPLATE,
            admin_user=admin_user,
            admin_key=admin_key,
            deploy_user=deploy_user,
            host_private_key=host_private_key,
            host_public_key=host_public_key,
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
