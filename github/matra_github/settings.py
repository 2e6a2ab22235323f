"""The github/ stack's settings, read once with the main program's ConfigReader
(matra/settings/reader.py): one line per problem, naming the key, the value and
what is allowed (never a secret's value), and a ConfigError before any resource is
registered."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pulumi

from matra.settings.reader import ConfigReader

from .workflows import (
    DEPLOYED_STACKS,
    READ_CREDENTIALS,
    WRITE_CREDENTIALS,
    secret_settings,
    shipped_stacks,
)

_LOGIN = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
"""A GitHub user or organisation login: letters, digits, single inner hyphens, 1-39."""
_REPOSITORY = re.compile(rf"^({_LOGIN})/([A-Za-z0-9._-]{{1,100}})$")
_USER = re.compile(rf"^@({_LOGIN})$")
_TEAM = re.compile(rf"^@({_LOGIN})/([a-z0-9][a-z0-9_-]{{0,99}})$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_SPACES_ENDPOINT = re.compile(r"^[a-z]+[0-9]+\.digitaloceanspaces\.com$")
MAX_REVIEWERS = 6
"""GitHub takes up to six users or teams as an environment's required reviewers."""

REPOSITORY = "owner/name (letters, digits, '.', '-' and '_' in the name)"
REVIEWER = "@login (a user) or @org/team-slug (a team)"
BACKEND = (
    "the stack's own Spaces bucket, "
    "s3://<bucket>?endpoint=<region>.digitaloceanspaces.com&region=us-east-1"
)
RETIRED = (
    "backendUrl",
    "digitaloceanToken",
    "atlasPublicKey",
    "atlasPrivateKey",
    "stateAccessKeyId",
    "stateSecretAccessKey",
    "stateReadAccessKeyId",
    "stateReadSecretAccessKey",
    "configPassphrase",
)
"""The settings of the one-credential-for-everything layout, replaced by one set per stack."""


@dataclass(frozen=True)
class Repository:
    owner: str
    name: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class Reviewer:
    """A required reviewer: a user, or a team of an organisation."""

    login: str
    """The user's login, or the team's slug."""
    organisation: str | None = None
    """The team's organisation; None for a user."""

    @property
    def team(self) -> bool:
        return self.organisation is not None

    def __str__(self) -> str:
        return f"@{self.organisation}/{self.login}" if self.team else f"@{self.login}"


@dataclass(frozen=True)
class GithubSettings:
    infra: Repository
    app: Repository
    app_required_checks: tuple[str, ...]
    required_approvals: int
    production_reviewers: tuple[Reviewer, ...]
    preview_reviewers: tuple[Reviewer, ...]
    unreviewed_previews: tuple[str, ...]
    """The stacks whose pull-request previews run without a reviewer's approval."""
    stacks: tuple[str, ...]
    """The main program's shipped stacks."""
    backend_urls: Mapping[str, str]
    """Each stack's state backend (its own bucket)."""
    ssh_runner: str
    app_image: str
    deploy_material_app: str
    """The client id of the GitHub App that writes deploy material to the app repository."""
    secrets: Mapping[str, pulumi.Output[str]]
    """Each secret setting (workflows.secret_settings) by its key."""


def parse_repository(value: str) -> Repository | None:
    match = _REPOSITORY.match(value)
    if match is None or match[2] in (".", ".."):
        return None
    return Repository(owner=match[1], name=match[2])


def parse_reviewer(value: str) -> Reviewer | None:
    """@login or @org/team-slug; None when ``value`` is neither."""
    user = _USER.match(value)
    if user:
        return Reviewer(login=user[1])
    team = _TEAM.match(value)
    if team:
        return Reviewer(login=team[2], organisation=team[1])
    return None


def spaces_bucket(value: str) -> str | None:
    """The bucket of s3://<bucket>[/<prefix>]?endpoint=<region>.digitaloceanspaces.com&region=<r>,
    or None when ``value`` is not such a URL."""
    url = urlsplit(value)
    query = parse_qs(url.query)
    endpoint = query.get("endpoint", [""])[0]
    good = (
        url.scheme == "s3"
        and bool(_BUCKET.match(url.netloc))
        and bool(_SPACES_ENDPOINT.match(endpoint))
        and bool(query.get("region", [""])[0])
    )
    return url.netloc if good else None


def _repository(r: ConfigReader, name: str) -> Repository:
    value = r.string(name, REPOSITORY, lambda v: parse_repository(v) is not None)
    return parse_repository(value) or Repository(owner="", name="")


def _check_owner(r: ConfigReader, infra: Repository) -> None:
    """github:owner, the organisation the provider manages, is both repositories' owner.
    (Another namespace's key, so its line is written here; same shape as the reader's.)"""
    owner = pulumi.Config("github").get("owner") or ""
    if not owner:
        r.errors.append(
            "github:owner: (missing) is not allowed; expected the organisation that owns "
            f"the repositories (set it with: pulumi config set github:owner "
            f"{infra.owner or '<org>'})"
        )
        return
    r.check(
        owner == infra.owner,
        "infraRepository",
        f"a repository of {owner} (github:owner, the one organisation the provider manages)",
    )


def _reviewers(r: ConfigReader, name: str, owner: str, *, required: bool) -> tuple[Reviewer, ...]:
    """Reviewers of an environment; a team must be the repositories' ``owner``'s (checked
    once the owner is known good)."""
    if not required and (r.raw(name) or "[]").strip() == "[]":
        return ()
    items = r.string_list(name, REVIEWER, lambda v: parse_reviewer(v) is not None, min_items=1)
    if len(items) > MAX_REVIEWERS:
        r.fail(name, r.raw(name), f"at most {MAX_REVIEWERS} reviewers (GitHub's limit)")
    reviewers = [found for found in map(parse_reviewer, items) if found is not None]
    for reviewer in reviewers:
        if reviewer.team and reviewer.organisation != owner and r.valid("infraRepository"):
            r.fail(name, str(reviewer), f"a team of {owner} (github:owner): @{owner}/<team-slug>")
    return tuple(reviewers)


def _secret(r: ConfigReader, name: str) -> pulumi.Output[str]:
    """A secret every run needs: refused when unset or stored in plain text."""
    value = r.secret(name)
    if value is None and r.valid(name):
        r.fail(name, None, f"a secret (set it with: pulumi config set --secret {r.key(name)})")
    return value if value is not None else pulumi.Output.secret("")


def own_passphrase() -> str | None:
    """The passphrase of the stack running this program (the org stack's own): what no
    workflow may hold."""
    if os.environ.get("PULUMI_CONFIG_PASSPHRASE"):
        return os.environ["PULUMI_CONFIG_PASSPHRASE"]
    path = os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    if path:
        try:
            return Path(path).read_text().rstrip("\n")
        except OSError:
            return None
    return None


def _distinct(r: ConfigReader, names: list[str], why: str) -> None:
    """Each of ``names`` (secret settings) holds a value none of the others holds; the
    second of two equal ones is refused, naming the first, never showing either."""
    seen: dict[str, str] = {}
    for name in names:
        value = r.raw(name)
        if not value or not r.valid(name):
            continue
        if value in seen:
            r.fail(name, value, f"a value other than {r.key(seen[value])}'s: {why}")
        else:
            seen[value] = name


def _separate_credentials(r: ConfigReader, stacks: tuple[str, ...]) -> None:
    """Separate credentials per stack and per job: a passphrase per stack, none the org
    stack's own; write keys apart from read keys; staging's keys apart from prod's."""
    passphrases = [f"{stack}ConfigPassphrase" for stack in stacks]
    own = own_passphrase()
    for name in passphrases:
        if own and r.raw(name) == own and r.valid(name):
            r.fail(
                name,
                own,
                "a passphrase other than the org stack's own (no workflow may hold what "
                "decrypts the stack that manages the repositories)",
            )
    _distinct(r, passphrases, "each stack has its own passphrase")
    deployed = [stack for stack in stacks if stack in DEPLOYED_STACKS]
    for read, write in zip(READ_CREDENTIALS[1:], WRITE_CREDENTIALS[1:], strict=False):
        # The same key must not serve a preview and an update, nor staging and prod.
        names = [read.setting_for(s) for s in stacks] + [write.setting_for(s) for s in deployed]
        _distinct(r, names, "previews read with read-only keys, and each stack has its own")


def load(
    config: pulumi.Config | None = None, stacks: tuple[str, ...] | None = None
) -> GithubSettings:
    """Read and validate every setting; raise ConfigError listing each problem."""
    stacks = shipped_stacks() if stacks is None else stacks
    r = ConfigReader(config or pulumi.Config())
    for name in RETIRED:
        r.retired(
            name,
            "each stack now has its own credentials and backend (<stack>ConfigPassphrase, "
            "<stack>BackendUrl, ...: docs/threat-model.md)",
        )
    infra = _repository(r, "infraRepository")
    app = _repository(r, "appRepository")
    _check_owner(r, infra)
    r.check(
        app.owner == infra.owner and app != infra,
        "appRepository",
        f"another repository of {infra.owner} (the owner of matra-github:infraRepository)",
        given=("infraRepository",),
    )
    checks = r.string_list(
        "appRequiredChecks",
        "check (the name of a job of the app's pull-request workflow)",
        lambda v: v == v.strip() and 0 < len(v) <= 255,
        min_items=1,
    )
    approvals = r.integer("requiredApprovals", 1, 6)
    reviewers = _reviewers(r, "productionReviewers", infra.owner, required=True)
    preview_reviewers = _reviewers(r, "previewReviewers", infra.owner, required=False) or reviewers
    undeployed = [s for s in stacks if s not in DEPLOYED_STACKS]
    unreviewed = r.string_list(
        "unreviewedPreviews",
        f"a shipped stack the pipeline never deploys (one of: {', '.join(undeployed) or 'none'})",
        lambda v: v in stacks and v not in DEPLOYED_STACKS,
    )
    backends = {
        stack: r.string(f"{stack}BackendUrl", BACKEND, lambda v: spaces_bucket(v) is not None)
        for stack in stacks
    }
    buckets: dict[str, str] = {}
    for stack, url in backends.items():
        bucket = spaces_bucket(url)
        if bucket is None:
            continue
        if bucket in buckets:
            r.fail(
                f"{stack}BackendUrl",
                url,
                f"a bucket of its own, not {buckets[bucket]}'s (a Spaces key reaches whole "
                "buckets: a shared one lets one stack's key write the other's state)",
            )
        buckets[bucket] = stack
    settings = GithubSettings(
        infra=infra,
        app=app,
        app_required_checks=checks,
        required_approvals=approvals,
        production_reviewers=reviewers,
        preview_reviewers=preview_reviewers,
        unreviewed_previews=unreviewed,
        stacks=stacks,
        backend_urls=backends,
        ssh_runner=r.matching(
            "sshRunner",
            "a runner label (letters, digits, '.', '-', '_')",
            r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
        ),
        app_image=r.matching(
            "appImage",
            "the stacks' appImage output, registry.digitalocean.com/<registry>/<name>",
            r"^registry\.digitalocean\.com/[a-z0-9][a-z0-9-]{1,61}[a-z0-9]/"
            r"[a-z0-9]+(?:[._-][a-z0-9]+)*$",
        ),
        deploy_material_app=r.matching(
            "deployMaterialAppClientId",
            "the client id of the GitHub App that writes deploy material (Iv...)",
            r"^Iv[0-9A-Za-z._-]{4,60}$",
        ),
        secrets={key: _secret(r, key) for key in secret_settings(stacks)},
    )
    _separate_credentials(r, stacks)
    r.finish()
    return settings
