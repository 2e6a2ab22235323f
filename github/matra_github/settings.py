"""The github/ stack's settings, read once with the main program's ConfigReader
(components/settings/reader.py): one line per problem, naming the key, the value and
what is allowed, and a ConfigError before any resource is registered."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pulumi

from components.settings.reader import ConfigReader

from .workflows import SECRET_SETTINGS

_LOGIN = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
"""A GitHub user or organisation login: letters, digits, single inner hyphens, 1-39."""
_REPOSITORY = re.compile(rf"^({_LOGIN})/([A-Za-z0-9._-]{{1,100}})$")
_USER = re.compile(rf"^@({_LOGIN})$")
_TEAM = re.compile(rf"^@({_LOGIN})/([a-z0-9][a-z0-9_-]{{0,99}})$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_SPACES_ENDPOINT = re.compile(r"^[a-z]+[0-9]+\.digitaloceanspaces\.com$")
_RUNNER_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MAX_REVIEWERS = 6
"""GitHub takes up to six users or teams as an environment's required reviewers."""

REPOSITORY = "owner/name (letters, digits, '.', '-' and '_' in the name)"
REVIEWER = "@login (a user) or @org/team-slug (a team)"
BACKEND = (
    "the Spaces bucket holding the state, "
    "s3://<bucket>?endpoint=<region>.digitaloceanspaces.com&region=us-east-1"
)


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
    backend_url: str
    ssh_runner: str
    secrets: Mapping[str, pulumi.Output[str]]
    """Each secret setting (workflows.SECRET_SETTINGS) by its key."""


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


def is_spaces_backend(value: str) -> bool:
    """s3://<bucket>[/<prefix>]?endpoint=<region>.digitaloceanspaces.com&region=<region>"""
    url = urlsplit(value)
    query = parse_qs(url.query)
    endpoint = query.get("endpoint", [""])[0]
    return (
        url.scheme == "s3"
        and bool(_BUCKET.match(url.netloc))
        and bool(_SPACES_ENDPOINT.match(endpoint))
        and bool(query.get("region", [""])[0])
    )


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


def _reviewers(r: ConfigReader, owner: str) -> tuple[Reviewer, ...]:
    """Production's reviewers; a team must be the repositories' ``owner``'s (checked once
    the owner is known good)."""
    name = "productionReviewers"
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
        r.fail(
            name, None, f"a secret (set it with: pulumi config set --secret {r.key(name)} <value>)"
        )
    return value if value is not None else pulumi.Output.secret("")


def load(config: pulumi.Config | None = None) -> GithubSettings:
    """Read and validate every setting; raise ConfigError listing each problem."""
    r = ConfigReader(config or pulumi.Config())
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
    reviewers = _reviewers(r, infra.owner)
    backend_url = r.string("backendUrl", BACKEND, is_spaces_backend)
    ssh_runner = r.string(
        "sshRunner",
        "a runner label (letters, digits, '.', '-', '_')",
        lambda v: bool(_RUNNER_LABEL.match(v)),
    )
    secrets = {key: _secret(r, key) for key in SECRET_SETTINGS}
    r.finish()
    return GithubSettings(
        infra=infra,
        app=app,
        app_required_checks=checks,
        required_approvals=approvals,
        production_reviewers=reviewers,
        backend_url=backend_url,
        ssh_runner=ssh_runner,
        secrets=secrets,
    )
