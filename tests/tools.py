"""Where the Go-built test tools live (tests/tools.env names them and their versions;
scripts/test-tools.sh builds them)."""

from __future__ import annotations

import os
from pathlib import Path

TOOLS_ENV = Path(__file__).resolve().parent / "tools.env"


def versions() -> dict[str, str]:
    """{"pebble": "v2.10.3", ...} from tools.env."""
    found = {}
    for line in TOOLS_ENV.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#") and key.endswith("_VERSION"):
            found[key.removesuffix("_VERSION").lower()] = value.strip()
    return found


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "matra-infra"


def tool_dir(name: str) -> Path:
    """The directory a tool is built into: <cache>/matra-infra/<name>-<version>."""
    return cache_root() / f"{name}-{versions()[name]}"


def require(name: str, binary: str) -> Path:
    """The tool's binary; a test fails with the command that builds it if it is missing."""
    path = tool_dir(name) / "bin" / binary
    assert path.exists(), f"{binary} is not built at {path}: run `make test-tools`"
    return path
