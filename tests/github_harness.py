"""Run the github/ program (github/__main__.py) under mocks, the way harness.run_program
runs the main one: its real Pulumi.org.yaml, its lookups answered (repositories, users,
teams), and every secret setting set as a secret."""

from __future__ import annotations

import functools
from typing import Any

import pulumi

from harness import GITHUB, ProgramRun, fake_id, mock_private_key, run_program
from matra_github.workflows import secret_settings

STACK = "org"
SECRET_KEYS = secret_settings()
SECRETS = {key: f"stand-in-{key}" for key in SECRET_KEYS}
"""A value for each secret setting (an operator sets them with --secret)."""

GET_REPOSITORY = "github:index/getRepository:getRepository"
GET_USER = "github:index/getUser:getUser"
GET_TEAM = "github:index/getTeam:getTeam"


class GithubMocks(pulumi.runtime.Mocks):
    """Echo inputs back as state; answer the program's lookups as GitHub would.
    Repositories are ``visibility`` (private by default) with ``main`` as default branch."""

    def __init__(self, engine_preview: bool = False, visibility: str = "private") -> None:
        self.engine_preview = engine_preview
        self.visibility = visibility

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        state = dict(args.inputs)
        if self.engine_preview:
            return ("" if args.custom else None), state
        if args.typ == "tls:index/privateKey:PrivateKey":
            rid = fake_id(args.typ, args.name)
            state.update(
                publicKeyOpenssh=f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA{rid}\n",
                privateKeyOpenssh=pulumi.Output.secret(mock_private_key(args.name)),
            )
        return (fake_id(args.typ, args.name) if args.custom else None), state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        given: dict[str, Any] = dict(args.args)
        if args.token == GET_REPOSITORY:
            full_name = given["fullName"]
            return {
                "fullName": full_name,
                "name": full_name.split("/", 1)[1],
                "defaultBranch": "main",
                "visibility": self.visibility,
                "private": self.visibility != "public",
                "nodeId": f"R_{fake_id(full_name)}",
                "repoId": int(fake_id(full_name)),
            }
        if args.token == GET_USER:
            return {"id": fake_id("user", given["username"]), "login": given["username"]}
        if args.token == GET_TEAM:
            return {"id": fake_id("team", given["slug"]), "slug": given["slug"]}
        raise AssertionError(f"unexpected invoke {args.token}")


def run_github(
    *,
    overrides: dict[str, Any] | None = None,
    unset: tuple[str, ...] = (),
    secrets: dict[str, str] | None = None,
    preview: bool = True,
    engine_preview: bool = False,
    visibility: str = "private",
) -> ProgramRun:
    """The org stack as an operator runs it (every secret set unless ``secrets`` says
    otherwise), changed by ``overrides`` and ``unset`` (short keys)."""
    given = SECRETS if secrets is None else secrets
    return run_program(
        STACK,
        project=GITHUB,
        mocks=functools.partial(GithubMocks, visibility=visibility),
        overrides={**given, **(overrides or {})},
        unset=unset,
        secret_keys=tuple(given),
        preview=preview,
        engine_preview=engine_preview,
        secure_stand_in="stand-in",
    )
