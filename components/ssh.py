"""How the program reaches a host over SSH: the host, the account, and what a droplet
that is configured over SSH needs at creation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_command as command


@dataclass
class Host:
    """One droplet to reach over SSH."""

    name: str
    """Short name for child resources (e.g. api-0)."""
    address: pulumi.Input[str]
    """Public IPv4 to SSH to."""
    droplet_id: pulumi.Input[str]
    """Changes when the droplet is replaced: the commands run again then."""


@dataclass
class SshAccount:
    """Who the program logs in as: the admin (ops) user with the automation key."""

    user: str
    private_key: pulumi.Input[str]
    """The automation key's private half (a secret)."""

    def connection(self, host: Host) -> command.remote.ConnectionArgs:
        return command.remote.ConnectionArgs(
            host=host.address, user=self.user, private_key=self.private_key
        )

    def run(
        self,
        name: str,
        host: Host,
        script: pulumi.Input[str],
        *,
        parent: pulumi.Resource,
        stdin: pulumi.Input[str] | None = None,
        triggers: Sequence[pulumi.Input[Any]] = (),
    ) -> command.remote.Command:
        """Run ``script`` on ``host`` as this account. It runs again when the droplet is
        replaced, when a trigger changes or when its stdin (where secrets travel)
        changes, and never merely because `pulumi up` ran."""
        return command.remote.Command(
            name,
            connection=self.connection(host),
            create=script,
            stdin=stdin,
            triggers=[host.droplet_id, *triggers],
            opts=pulumi.ResourceOptions(parent=parent),
        )


@dataclass
class SshLogin:
    """What a droplet the program configures over SSH needs: who logs in, with what key,
    from where."""

    account: SshAccount
    """The admin (ops) user and the automation key's secret private half."""
    public_key: pulumi.Input[str]
    """The automation key's public half, for that user in cloud-init."""
    ssh_key_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    admin_ssh_sources: Sequence[str]
