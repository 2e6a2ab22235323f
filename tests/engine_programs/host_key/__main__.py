"""One remote command to 127.0.0.1:<port>, its host key pinned or not. Its connection is
known at preview (the address, and the login key a secret in config), or known only
once the update has created what it comes from (a new droplet's address, a generated
key), as in a new stack. The pinned key is made by the update (pulumi-tls)."""

import pulumi
import pulumi_command as command
import pulumi_tls as tls

config = pulumi.Config()
host_key = tls.PrivateKey("host-key", algorithm="ED25519")
if config.require_bool("knownAtPreview"):
    address: pulumi.Input[str] = "127.0.0.1"
    login_key: pulumi.Input[str] = config.require_secret("loginKey")
else:
    address = host_key.id.apply(lambda _: "127.0.0.1")
    login_key = tls.PrivateKey("login", algorithm="ED25519").private_key_openssh

command.remote.Command(
    "probe",
    connection=command.remote.ConnectionArgs(
        host=address,
        port=config.require_int("port"),
        user="ops",
        private_key=login_key,
        host_key=host_key.public_key_openssh if config.require_bool("pinned") else None,
        dial_error_limit=1,
        per_dial_timeout=2,
    ),
    create="true",
)
