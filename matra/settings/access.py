"""Access settings: who may reach the hosts over SSH, from where, with which keys."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi

from .checks import is_cidr, is_ssh_public_key
from .reader import ConfigReader

ADMIN_USER = "ops"
"""The administration user on every host: Pulumi's automation key and the operators'
keys log in as it, with passwordless sudo. The app's deploy job uses deployUser."""

_UNIX_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class AutomationKey:
    """An operator-supplied automation key pair; the private half stays a secret."""

    public_key: str
    private_key: pulumi.Output[str]


@dataclass(frozen=True)
class AccessSettings:
    admin_ssh_sources: tuple[str, ...]
    """CIDRs allowed to reach port 22."""
    operator_keys: tuple[str, ...]
    """Operators' own public keys, for the ops user."""
    automation_key: AutomationKey | None
    """A supplied automation key pair; None generates one."""
    deploy_user: str
    deploy_public_key: str | None
    """The deploy job's own public key; None generates a pair for it."""


def read_access(r: ConfigReader) -> AccessSettings:
    access = AccessSettings(
        admin_ssh_sources=r.string_list(
            "adminSshSources",
            "an IPv4 or IPv6 network in CIDR notation (e.g. 198.51.100.0/24)",
            is_cidr,
            min_items=1,
        ),
        operator_keys=r.string_list(
            "sshPublicKeys",
            "an OpenSSH public key line (ssh-ed25519 AAAA... comment)",
            is_ssh_public_key,
        ),
        automation_key=_automation_key(r),
        deploy_user=r.string(
            "deployUser",
            "a Linux user name (lower case, starts with a letter or _, at most 32 characters, "
            f"not root or {ADMIN_USER})",
            lambda v: bool(_UNIX_USER.match(v)) and v not in ("root", ADMIN_USER),
        ),
        deploy_public_key=r.optional_string(
            "deploySshPublicKey",
            "the deploy job's OpenSSH public key line (ssh-ed25519 AAAA...), or unset to let "
            "the program generate the pair",
            is_ssh_public_key,
        ),
    )
    r.networks(
        "adminSshSources",
        access.admin_ssh_sources,
        "set the networks your operators and CI runners reach port 22 from "
        "(pulumi config set --path 'matra-infra:adminSshSources[0]' <cidr>)",
    )
    return access


def _automation_key(r: ConfigReader) -> AutomationKey | None:
    """Both halves of a supplied automation key, or neither (then the program makes one).

    The private half must be stored as a secret; its value is never echoed in an error."""
    public_name, private_name = "automationSshPublicKey", "automationSshPrivateKey"
    public_key = r.optional_string(
        public_name,
        "an OpenSSH ed25519 public key line (ssh-ed25519 AAAA...)",
        lambda v: v.startswith("ssh-ed25519 ") and is_ssh_public_key(v),
    )
    private_key = r.secret(private_name)
    public_set, private_set = r.is_set(public_name), r.is_set(private_name)
    if public_set and not private_set:
        r.fail(
            private_name,
            None,
            f"the secret private half of {r.key(public_name)} (set it with: pulumi config "
            f"set --secret {r.key(private_name)} < key-file), or unset both to let the program "
            "generate the pair",
        )
    if private_set and not public_set:
        r.fail(
            public_name,
            None,
            f"the public half of the secret {r.key(private_name)}, or unset both to let the "
            "program generate the pair",
        )
    if public_key is None or private_key is None:
        return None
    return AutomationKey(public_key=public_key, private_key=private_key)
