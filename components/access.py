"""SSH access: the automation key pair and the authorized keys the hosts accept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_digitalocean as digitalocean
import pulumi_tls as tls


@dataclass
class SshAccessArgs:
    key_name: pulumi.Input[str]
    """Account-unique name of the automation key in DigitalOcean."""
    operator_public_keys: Sequence[str] = field(default_factory=tuple)
    """Operators' own OpenSSH public keys (added to the deploy user, not to the account:
    DigitalOcean refuses the same public key twice in one account, and every stack
    would add it again)."""
    supplied_public_key: Optional[str] = None
    """Public half of an operator-supplied automation key; None generates a pair."""
    supplied_private_key: Optional[pulumi.Input[str]] = None
    """Secret private half of the supplied key."""


class SshAccess(pulumi.ComponentResource):
    automation_public_key: pulumi.Output[str]
    """OpenSSH public key of the automation key pair."""
    automation_private_key: pulumi.Output[str]
    """OpenSSH private key of the automation key pair (always a secret)."""
    ssh_key_ids: list[pulumi.Output[str]]
    """DigitalOcean SSH key ids to put on droplets (a list of known length, so a
    preview and the policy pack can see that droplets carry a key)."""
    authorized_keys: pulumi.Output[list[str]]
    """Every public key the deploy user accepts: the operators' and the automation key."""

    def __init__(self, name: str, args: SshAccessArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("matra:index:SshAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        if (args.supplied_public_key is None) != (args.supplied_private_key is None):
            raise ValueError("SshAccessArgs: supply both halves of the automation key or neither")
        if args.supplied_public_key is not None:
            public_key: pulumi.Output[str] = pulumi.Output.from_input(args.supplied_public_key)
            private_key = pulumi.Output.secret(args.supplied_private_key)
        else:
            pair = tls.PrivateKey(f"{name}-automation", algorithm="ED25519", opts=child)
            public_key = pair.public_key_openssh.apply(str.strip)
            private_key = pulumi.Output.secret(pair.private_key_openssh)

        do_key = digitalocean.SshKey(f"{name}-automation", name=args.key_name,
                                     public_key=public_key, opts=child)

        self.automation_public_key = public_key
        self.automation_private_key = private_key
        self.ssh_key_ids = [do_key.id]
        operators = [key.strip() for key in args.operator_public_keys]
        self.authorized_keys = public_key.apply(lambda key: [*operators, key])
        self.register_outputs({
            "automation_public_key": self.automation_public_key,
            "automation_private_key": self.automation_private_key,
            "ssh_key_ids": self.ssh_key_ids,
            "authorized_keys": self.authorized_keys,
        })
