"""SSH access: the automation key pair (Pulumi's way onto the hosts, as the ops user),
the deploy job's key pair, and the operators' keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_digitalocean as digitalocean
import pulumi_tls as tls

from .settings import StackSettings
from .ssh import SshAccount, SshLogin


@dataclass
class SshAccessArgs:
    key_name: pulumi.Input[str]
    """Account-unique name of the automation key in DigitalOcean."""
    operator_public_keys: Sequence[str] = field(default_factory=tuple)
    """Operators' own OpenSSH public keys, for the ops user. They reach the hosts over
    SSH, not through the account: DigitalOcean refuses the same public key twice in one
    account (every stack would add it again), and not through user data (a change there
    replaces the droplet)."""
    supplied_public_key: str | None = None
    """Public half of an operator-supplied automation key; None generates a pair."""
    supplied_private_key: pulumi.Input[str] | None = None
    """Secret private half of the supplied key."""
    deploy_public_key: str | None = None
    """The deploy job's own public key; None generates a pair for it."""

    @classmethod
    def for_stack(cls, stack: StackSettings) -> SshAccessArgs:
        """The stack's keys: its automation key (supplied, or generated and named after
        the stack), the operators' and the deploy job's."""
        access = stack.access
        supplied = access.automation_key
        return cls(
            key_name=f"{stack.name_prefix}-automation",
            operator_public_keys=access.operator_keys,
            supplied_public_key=supplied.public_key if supplied else None,
            supplied_private_key=supplied.private_key if supplied else None,
            deploy_public_key=access.deploy_public_key,
        )


class SshAccess(pulumi.ComponentResource):
    automation_public_key: pulumi.Output[str]
    """OpenSSH public key of the automation key pair."""
    automation_private_key: pulumi.Output[str]
    """OpenSSH private key of the automation key pair (always a secret)."""
    ssh_key_ids: list[pulumi.Output[str]]
    """DigitalOcean SSH key ids to put on droplets (a list of known length, so a
    preview and the policy pack can see that droplets carry a key)."""
    admin_authorized_keys: pulumi.Output[list[str]]
    """Every key the ops user accepts: the automation key first, then the operators'."""
    deploy_public_key: pulumi.Output[str]
    """The deploy job's public key."""
    deploy_private_key: pulumi.Output[str] | None
    """The generated deploy key's private half (a secret), or None when supplied."""

    def __init__(
        self, name: str, args: SshAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:SshAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        if (args.supplied_public_key is None) != (args.supplied_private_key is None):
            raise ValueError("SshAccessArgs: supply both halves of the automation key or neither")
        if args.supplied_public_key is not None and args.supplied_private_key is not None:
            public_key = pulumi.Output.from_input(args.supplied_public_key)
            private_key = pulumi.Output.secret(args.supplied_private_key)
        else:
            public_key, private_key = self._pair(f"{name}-automation", child)

        if args.deploy_public_key is not None:
            self.deploy_public_key = pulumi.Output.from_input(args.deploy_public_key)
            self.deploy_private_key = None
        else:
            self.deploy_public_key, self.deploy_private_key = self._pair(f"{name}-deploy", child)

        do_key = digitalocean.SshKey(
            f"{name}-automation", name=args.key_name, public_key=public_key, opts=child
        )

        self.automation_public_key = public_key
        self.automation_private_key = private_key
        self.ssh_key_ids = [do_key.id]
        operators = [key.strip() for key in args.operator_public_keys]
        self.admin_authorized_keys = public_key.apply(lambda key: [key, *operators])
        self.register_outputs(
            {
                "automation_public_key": self.automation_public_key,
                "automation_private_key": self.automation_private_key,
                "admin_authorized_keys": self.admin_authorized_keys,
                "deploy_public_key": self.deploy_public_key,
            }
        )

    def login(self, user: str, admin_ssh_sources: Sequence[str]) -> SshLogin:
        """How the program logs in to a droplet it configures over SSH: as ``user``
        with the automation key, from ``admin_ssh_sources``."""
        return SshLogin(
            account=SshAccount(user=user, private_key=self.automation_private_key),
            public_key=self.automation_public_key,
            ssh_key_ids=self.ssh_key_ids,
            admin_ssh_sources=admin_ssh_sources,
        )

    @staticmethod
    def _pair(
        name: str, opts: pulumi.ResourceOptions
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """A generated ed25519 pair: (public OpenSSH line, secret private key)."""
        pair = tls.PrivateKey(name, algorithm="ED25519", opts=opts)
        public = pair.public_key_openssh.apply(lambda key: key.strip())
        return public, pulumi.Output.secret(pair.private_key_openssh)
