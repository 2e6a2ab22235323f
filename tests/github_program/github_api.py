"""A stand-in for the few GitHub API calls the github/ program and the github provider
make during a preview, on loopback: the organisation the provider looks up when it is
configured with an owner, and the program's lookups (get_repository, get_team, get_user).
What it answers is the shape GitHub's REST API answers with (the fields the provider
reads); anything else is a 404, and every request is recorded.

    with GitHubApi(owner="matra-io", repositories={"matra-infra": "private"}) as api:
        env["GITHUB_BASE_URL"] = api.url   # the provider calls <url>api/v3/...
"""

from __future__ import annotations

from typing import Any

from harness import fake_id
from json_api import JsonHandler, Serving


def _id(*parts: str) -> int:
    """The id the mocks give the same thing (tests/github_harness.py), so a preview on the
    engine and a run under mocks register the same values."""
    return int(fake_id(*parts))


class GitHubApi(Serving):
    def __init__(
        self, owner: str, repositories: dict[str, str], default_branch: str = "main"
    ) -> None:
        self.owner = owner
        self.repositories = repositories
        """name -> visibility"""
        self.default_branch = default_branch
        self.requests: list[str] = []
        api = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                api.requests.append(self.path)
                found = api.answer(self.path.split("?", 1)[0])
                if found is None:
                    self.reply(404, {"message": "Not Found"})
                else:
                    self.reply(200, found)

        super().__init__(Handler)

    @property
    def url(self) -> str:
        """The base URL the provider takes (it calls <url>api/v3/...)."""
        return super().url + "/"

    def answer(self, path: str) -> Any:
        parts = path.strip("/").split("/")
        if parts[:2] != ["api", "v3"]:
            return None
        parts = parts[2:]
        if parts == ["orgs", self.owner]:
            return {
                "login": self.owner,
                "id": _id("org", self.owner),
                "node_id": "O_1",
                "type": "Organization",
            }
        if (
            len(parts) == 3
            and parts[0] == "repos"
            and parts[1] == self.owner
            and parts[2] in self.repositories
        ):
            name = parts[2]
            visibility = self.repositories[name]
            return {
                "id": _id(f"{self.owner}/{name}"),
                "node_id": f"R_{_id(f'{self.owner}/{name}')}",
                "name": name,
                "full_name": f"{self.owner}/{name}",
                "owner": {
                    "login": self.owner,
                    "id": _id("org", self.owner),
                    "type": "Organization",
                },
                "private": visibility != "public",
                "visibility": visibility,
                "default_branch": self.default_branch,
                "html_url": f"https://github.com/{self.owner}/{name}",
                "topics": [],
            }
        if len(parts) == 4 and parts[:3] == ["orgs", self.owner, "teams"]:
            slug = parts[3]
            return {
                "id": _id("team", slug),
                "node_id": f"T_{_id('team', slug)}",
                "slug": slug,
                "name": slug,
                "privacy": "closed",
            }
        if len(parts) == 3 and parts[0] == "users" and parts[2] in ("gpg_keys", "keys"):
            return []  # getUser reads the user's public keys too
        if len(parts) == 2 and parts[0] == "users":
            return {
                "id": _id("user", parts[1]),
                "node_id": f"U_{_id('user', parts[1])}",
                "login": parts[1],
                "type": "User",
            }
        return None
