"""A stack's deploy material, between this repository and the app repository.

The app repository holds no passphrase and no state key: what its deploy jobs need of a
stack (the hosts, their SSH host keys, the deploy user and key, the image, the health
check, the URL) reaches the app repository's environment of the same name as
environment variables and one secret, written after every update of the stack:

    # update.yml, after `pulumi up` (a GitHub App's token that can write the app's
    # environments; the outputs from scripts/stack_outputs.py):
    python scripts/deploy_material.py publish --outputs outputs.json \\
        --repository matra-io/matra-app --environment staging

    # with DEPLOY_* from the app environment's vars.* and secrets.* (the app's deploy jobs
    # do this through scripts/app_deploy.py, which also records the deployment):
    python3 scripts/deploy_material.py assemble --out outputs.json
    python3 -m deploy --outputs outputs.json --release <tag>@sha256:<digest>

`assemble` writes the same JSON object `pulumi stack output --json --show-secrets`
prints, limited to what the deploy command reads, into a file only its owner can read.
Every problem is one line on stderr (exit 1), never a value. The material's names are
matra_github/workflows.py's DEPLOY_MATERIAL, the one list both sides read.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from job import GitHub, reason, write_private
from matra_github.workflows import DEPLOY_MATERIAL

MAX_VARIABLE = 48 * 1024
"""GitHub's limit on one Actions variable's value (48 KB)."""
JSON_OUTPUTS = {"deployTargets", "healthCheck"}
"""Outputs that are JSON values (the rest are strings)."""


class MaterialError(Exception):
    """The material can't be published or assembled; the message is one line."""


def material(outputs: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """name -> (kind, value) for every piece of deploy material in ``outputs``. The deploy
    key is left out when the stack exports none (it was given its own public key: the
    app's environment then holds the key its operator set by hand)."""
    found: dict[str, tuple[str, str]] = {}
    for output, (kind, name) in DEPLOY_MATERIAL.items():
        value = outputs.get(output)
        if value is None:
            if output == "deploySshPrivateKey":
                continue
            raise MaterialError(
                f"outputs: no {output}: the stack's outputs lack what a deploy needs (run "
                "pulumi up of this stack with this repository's program first)"
            )
        if value == "[secret]":
            raise MaterialError(
                f"outputs: {output} is hidden ('[secret]'): read them with --show-secrets"
            )
        text = json.dumps(value, sort_keys=True) if output in JSON_OUTPUTS else str(value)
        if kind == "variable" and len(text.encode()) > MAX_VARIABLE:
            raise MaterialError(
                f"outputs: {output} is {len(text.encode())} bytes, more than an Actions "
                f"variable holds ({MAX_VARIABLE})"
            )
        found[name] = (kind, text)
    return found


def seal(public_key: str, value: str) -> str:
    """``value`` encrypted for GitHub's environment public key (a libsodium sealed box, as
    GitHub's REST API requires), base64."""
    from nacl import encoding, public

    box = public.SealedBox(public.PublicKey(public_key.encode(), encoding.Base64Encoder))
    return base64.b64encode(box.encrypt(value.encode())).decode()


class Environments(GitHub):
    """The app repository's environments: what publishing writes."""

    def environment_path(self, environment: str) -> str:
        return f"/environments/{urllib.parse.quote(environment, safe='')}"

    def set_variable(self, environment: str, name: str, value: str) -> str:
        """Update the environment's variable, or create it; what was done."""
        base = self.environment_path(environment) + "/variables"
        try:
            self.call("PATCH", f"{base}/{name}", {"name": name, "value": value})
            return "updated"
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
        self.call("POST", base, {"name": name, "value": value})
        return "created"

    def set_secret(self, environment: str, name: str, value: str) -> str:
        base = self.environment_path(environment) + "/secrets"
        key = self.call("GET", f"{base}/public-key")
        self.call(
            "PUT",
            f"{base}/{name}",
            {"encrypted_value": seal(key["key"], value), "key_id": key["key_id"]},
        )
        return "set"


def publish(outputs: Mapping[str, Any], github: Environments, environment: str) -> list[str]:
    """Write every piece of material to the app repository's ``environment``; one line
    per piece, saying what was done (never a secret's value)."""
    if outputs.get("project") != "matra-infra":
        raise MaterialError(f"outputs: project is {outputs.get('project')!r}, not 'matra-infra'")
    done = []
    for name, (kind, value) in material(outputs).items():
        if kind == "secret":
            done.append(f"secret {name}: {github.set_secret(environment, name, value)}")
        else:
            done.append(f"variable {name}: {github.set_variable(environment, name, value)}")
    if "deploySshPrivateKey" not in outputs:
        done.append(
            "secret DEPLOY_SSH_KEY: not written (the stack was given its own deploy key; set "
            "the private half in the environment by hand)"
        )
    return done


def assemble(env: Mapping[str, str]) -> dict[str, Any]:
    """The outputs object from the environment's DEPLOY_* values."""
    outputs: dict[str, Any] = {}
    for output, (kind, name) in DEPLOY_MATERIAL.items():
        value = env.get(name, "")
        if not value.strip():
            if output == "deploySshPrivateKey":
                continue
            raise MaterialError(
                f"{name} is empty: this environment has no deploy material for its stack yet "
                f"({'vars' if kind == 'variable' else 'secrets'}.{name}; update.yml writes it "
                "after each pulumi up of the stack)"
            )
        if output in JSON_OUTPUTS:
            try:
                outputs[output] = json.loads(value)
            except ValueError:
                raise MaterialError(
                    f"{name} is not JSON: the material was written by hand?"
                ) from None
        else:
            outputs[output] = value
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("publish", help="write a stack's material to the app repository")
    up.add_argument("--outputs", required=True, type=Path)
    up.add_argument("--repository", required=True, help="the app repository, owner/name")
    up.add_argument("--environment", required=True)
    down = commands.add_parser("assemble", help="write the outputs file the deploy command reads")
    down.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "publish":
            token = os.environ.get("GITHUB_TOKEN")
            if not token:
                raise MaterialError(
                    "GITHUB_TOKEN is missing (the App's token that writes the app "
                    "repository's environments)"
                )
            try:
                outputs = json.loads(args.outputs.read_text())
            except (OSError, ValueError) as error:
                raise MaterialError(f"--outputs {args.outputs}: can't be read ({error})") from None
            github = Environments.from_env(os.environ, args.repository)
            for line in publish(outputs, github, args.environment):
                print(f"deploy_material: {args.repository} {args.environment}: {line}")
        else:
            outputs = assemble(os.environ)
            write_private(args.out, json.dumps(outputs))
            print(f"deploy_material: {outputs['stack']}'s material in {args.out} (0600)")
    except MaterialError as error:
        print(f"deploy_material: {error}", file=sys.stderr)
        return 1
    except urllib.error.HTTPError as error:
        answer = f"{reason(error)} to {error.geturl()}"
        print(f"deploy_material: GitHub answered {answer}", file=sys.stderr)
        return 1
    except (OSError, urllib.error.URLError) as error:
        print(f"deploy_material: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
