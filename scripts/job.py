"""What the workflows' scripts share, as a job's step runs them (`python3 scripts/x.py`,
which puts scripts/ first on the import path): GitHub's REST API with the job's token,
the files a job hands its steps (the summary, the outputs), and a file only its owner
can read. Standard library only: some of the scripts run on the runner's own python3.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Self

API = "https://api.github.com"
"""GitHub's REST API, where GITHUB_API_URL does not name another (GitHub Enterprise)."""
PAGE = 100
"""Items a list call asks for at a time (GitHub's most)."""


class GitHub:
    """REST calls on one repository (``owner/name``), with ``token``."""

    def __init__(self, api: str, token: str, repository: str) -> None:
        self.api = api.rstrip("/")
        self.token = token
        self.repository = repository

    @classmethod
    def from_env(cls, env: Mapping[str, str], repository: str | None = None) -> Self:
        """The job's API, token (GITHUB_TOKEN) and repository (GITHUB_REPOSITORY, unless
        another is named); KeyError names what the environment lacks."""
        token = env["GITHUB_TOKEN"]
        return cls(env.get("GITHUB_API_URL", API), token, repository or env["GITHUB_REPOSITORY"])

    def call(self, method: str, path: str, payload: Mapping[str, Any] | None = None) -> Any:
        """``method`` on /repos/<repository><path> with ``payload`` as JSON; the answer's
        JSON (None when it has no body). urllib's HTTPError or URLError when it fails."""
        request = urllib.request.Request(
            f"{self.api}/repos/{self.repository}{path}",
            method=method,
            data=json.dumps(payload).encode() if payload is not None else None,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def each(self, path: str) -> Iterator[dict[str, Any]]:
        """Every item the list at ``path`` holds, a page at a time: a caller that stops
        early asks for no further page."""
        page = 1
        joiner = "&" if "?" in path else "?"
        while True:
            items = self.call("GET", f"{path}{joiner}per_page={PAGE}&page={page}")
            yield from items
            if len(items) < PAGE:
                return
            page += 1


def reason(error: Exception) -> str:
    """Why a call failed, in a few words: GitHub's status and reason, the network's
    reason, or the error's own message."""
    if isinstance(error, urllib.error.HTTPError):
        return f"{error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


def append(variable: str, text: str) -> None:
    """Append ``text`` to the file the job's ``variable`` names (GITHUB_STEP_SUMMARY,
    GITHUB_OUTPUT); nothing where it names none (outside a job)."""
    path = os.environ.get(variable)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read or write, from the first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
