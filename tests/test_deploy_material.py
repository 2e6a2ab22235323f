"""scripts/deploy_material.py: a stack's deploy material goes from its outputs to the app
repository's environment (update.yml, `publish`) and back into the outputs file the
deploy command reads (deploy-app.yml, `assemble`), the app repository never holding a
passphrase or a state key. Against a stand-in for GitHub's REST API on loopback that keeps
environment variables, and secrets only as GitHub does: sealed for the environment's
public key (opened here with its private key, as GitHub would)."""

from __future__ import annotations

import base64
import json
import stat
from typing import ClassVar

import pytest
from nacl import public

import deploy_material
from deploy.outputs import parse
from deploy_material import MaterialError, assemble, main, material
from json_api import JsonHandler, Serving

KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\nAAAAsecret\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
OUTPUTS = {
    "project": "matra-infra",
    "stack": "staging",
    "appImage": "registry.digitalocean.com/matra/api",
    "deployUser": "deploy",
    "deployTargets": [{"name": "matra-staging-api-0", "ip": "203.0.113.21"}],
    "sshKnownHosts": "matra-staging-api-0,203.0.113.21 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL\n",
    "healthCheck": {
        "path": "/healthz",
        "port": 80,
        "interval_seconds": 10,
        "unhealthy_threshold": 3,
    },
    "apiUrl": "https://api.staging.matra.io",
    "deploySshPrivateKey": KEY,
    "mongodbUri": "mongodb+srv://u:p@matra-staging.ab1cd.mongodb.net",  # not deploy material
    "monthlyCostUsd": 115.2,
}


class GitHubStandIn(JsonHandler):
    """/repos/<repo>/environments/<env>/{variables,secrets}, as GitHub answers them."""

    key: ClassVar[public.PrivateKey]
    variables: ClassVar[dict[tuple[str, str], str]] = {}
    secrets: ClassVar[dict[tuple[str, str], str]] = {}
    calls: ClassVar[list[tuple[str, str]]] = []
    token = "app-installation-token"

    def _route(self) -> tuple[str, str, list[str]] | None:
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            self.reply(401, {"message": "Bad credentials"})
            return None
        self.calls.append((self.command, self.path))
        parts = self.path.strip("/").split("/")
        # repos/<owner>/<repo>/environments/<env>/<kind>[/<name>]
        return f"{parts[1]}/{parts[2]}", parts[4], parts[5:]

    def do_GET(self):
        route = self._route()
        if route and route[2] == ["secrets", "public-key"]:
            key = self.key.public_key.encode()
            self.reply(200, {"key_id": "kid-1", "key": base64.b64encode(key).decode()})

    def do_PATCH(self):
        route = self._route()
        if route:
            _, environment, (_, name) = route
            if (environment, name) not in self.variables:
                self.reply(404, {"message": "Not Found"})
                return
            self.variables[environment, name] = self.payload()["value"]
            self.reply(204)

    def do_POST(self):
        route = self._route()
        if route:
            _, environment, _ = route
            payload = self.payload()
            self.variables[environment, payload["name"]] = payload["value"]
            self.reply(201, {})

    def do_PUT(self):
        route = self._route()
        if route:
            _, environment, (_, name) = route
            payload = self.payload()
            assert payload["key_id"] == "kid-1"
            sealed = base64.b64decode(payload["encrypted_value"])
            self.secrets[environment, name] = public.SealedBox(self.key).decrypt(sealed).decode()
            self.reply(201, {})


@pytest.fixture
def github(monkeypatch):
    GitHubStandIn.key = public.PrivateKey.generate()
    GitHubStandIn.variables = {("staging", "DEPLOY_USER"): "old-user"}
    GitHubStandIn.secrets = {}
    GitHubStandIn.calls = []
    with Serving(GitHubStandIn) as served:
        monkeypatch.setenv("GITHUB_API_URL", served.url)
        monkeypatch.setenv("GITHUB_TOKEN", GitHubStandIn.token)
        yield GitHubStandIn


def publish(tmp_path, outputs=OUTPUTS):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    return main(
        [
            "publish",
            "--outputs",
            str(path),
            "--repository",
            "matra-io/matra-app",
            "--environment",
            "staging",
        ]
    )


def test_published_material_assembles_into_outputs_the_deploy_command_accepts(
    tmp_path, github, monkeypatch, capsys
):
    assert publish(tmp_path) == 0
    printed = capsys.readouterr().out
    assert (
        "variable DEPLOY_USER: updated" in printed and "variable DEPLOY_TARGETS: created" in printed
    )
    assert "secret DEPLOY_SSH_KEY: set" in printed
    assert KEY.splitlines()[2] not in printed
    # GitHub holds the key sealed, and nothing that is not deploy material.
    assert github.secrets == {("staging", "DEPLOY_SSH_KEY"): KEY}
    assert not any("mongodb" in value for value in github.variables.values())
    assert {name for _, name in github.variables} == {
        "DEPLOY_PROJECT",
        "DEPLOY_STACK",
        "DEPLOY_IMAGE",
        "DEPLOY_USER",
        "DEPLOY_TARGETS",
        "DEPLOY_KNOWN_HOSTS",
        "DEPLOY_HEALTH_CHECK",
        "DEPLOY_URL",
    }
    # The app's deploy job: vars.* and secrets.* of its environment, into a 0600 file.
    env = {name: value for (_, name), value in {**github.variables, **github.secrets}.items()}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "assembled.json"
    assert main(["assemble", "--out", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assembled = json.loads(out.read_text())
    deployable = parse(assembled)
    assert deployable.stack == "staging" and deployable.private_key == KEY
    assert [t.address for t in deployable.targets] == ["203.0.113.21"]
    assert assembled["healthCheck"] == OUTPUTS["healthCheck"]
    assert "mongodbUri" not in assembled and "monthlyCostUsd" not in assembled


def test_a_stack_given_its_own_deploy_key_publishes_no_key(tmp_path, github, capsys):
    outputs = {k: v for k, v in OUTPUTS.items() if k != "deploySshPrivateKey"}
    assert publish(tmp_path, outputs) == 0
    assert github.secrets == {}
    assert (
        "secret DEPLOY_SSH_KEY: not written (the stack was given its own deploy key"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            {"deployTargets": None},
            "outputs: no deployTargets: the stack's outputs lack what a deploy needs",
        ),
        (
            {"deploySshPrivateKey": "[secret]"},
            "outputs: deploySshPrivateKey is hidden ('[secret]')",
        ),
        ({"project": "someone-else"}, "outputs: project is 'someone-else', not 'matra-infra'"),
        (
            {"sshKnownHosts": "x" * 50_000},
            "outputs: sshKnownHosts is 50000 bytes, more than an Actions variable holds",
        ),
    ],
    ids=["missing", "hidden", "another-project", "too-big"],
)
def test_outputs_that_cant_be_published_are_one_line_and_nothing_is_written(
    tmp_path, github, capsys, change, line
):
    outputs = {k: v for k, v in {**OUTPUTS, **change}.items() if v is not None}
    assert publish(tmp_path, outputs) == 1
    (printed,) = capsys.readouterr().err.splitlines()
    assert printed.startswith(f"deploy_material: {line}")
    assert github.calls == []


def test_a_refused_token_is_one_line(tmp_path, github, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_TOKEN", "expired")
    assert publish(tmp_path) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("deploy_material: GitHub answered 401 Unauthorized to http://127.0.0.1:")
    assert "expired" not in line


def test_an_environment_without_its_material_says_what_is_missing(tmp_path, monkeypatch, capsys):
    for name in (
        "DEPLOY_PROJECT",
        "DEPLOY_STACK",
        "DEPLOY_IMAGE",
        "DEPLOY_USER",
        "DEPLOY_KNOWN_HOSTS",
        "DEPLOY_HEALTH_CHECK",
        "DEPLOY_URL",
    ):
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("DEPLOY_TARGETS", "")
    assert main(["assemble", "--out", str(tmp_path / "o.json")]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        "deploy_material: DEPLOY_TARGETS is empty: this environment has no deploy material for its "
        "stack yet (vars.DEPLOY_TARGETS; update.yml writes it after each pulumi up of the stack)"
    )
    assert not (tmp_path / "o.json").exists()


def test_material_lists_exactly_what_the_deploy_command_reads():
    found = material(OUTPUTS)
    assert found["DEPLOY_SSH_KEY"] == ("secret", KEY)
    assert json.loads(found["DEPLOY_TARGETS"][1]) == OUTPUTS["deployTargets"]
    with pytest.raises(MaterialError):
        assemble({})
    assert deploy_material.MAX_VARIABLE == 48 * 1024
