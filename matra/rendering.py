"""Renders the project's template files (cloud-init, host scripts).

StrictUndefined: a parameter the caller forgot fails the render instead of leaving
an empty string in a file that ends up on a host.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).parent / "templates"

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,
)
# Shell scripts quote every parameter with `| shell_quote`.
_ENV.filters["shell_quote"] = lambda value: shlex.quote(str(value))


def render(name: str, **params: Any) -> str:
    """Render ``matra/templates/<name>`` with exactly the given parameters."""
    return _ENV.get_template(name).render(**params)
