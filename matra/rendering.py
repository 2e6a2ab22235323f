"""Renders what really is a template (matra/templates/): the cloud-init documents, the
nginx sites, the compose file and the rsyslog drop-in. The host scripts are plain files
(host/, delivered by matra/hostfiles.py).

StrictUndefined: a parameter the caller forgot fails the render instead of leaving
an empty string in a file that ends up on a host.
"""

from __future__ import annotations

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


def render(name: str, **params: Any) -> str:
    """Render ``matra/templates/<name>`` with exactly the given parameters."""
    return _ENV.get_template(name).render(**params)
