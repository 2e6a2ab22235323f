"""The guardrails the program shares with the policy pack, read from ``baseline.json``
beside this file: the egress the Cloud Firewalls open (and the pack
allows), the supported images (offered by the settings, named in the pack's fix) and the
end-of-life images (refused by the settings, flagged by the pack)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASELINE_FILE = Path(__file__).resolve().parent / "baseline.json"


@dataclass(frozen=True)
class Port:
    protocol: str
    port: str
    purpose: str


BASELINE: dict[str, Any] = json.loads(BASELINE_FILE.read_text())
"""The whole file, as the JSON has it."""

EGRESS: tuple[Port, ...] = tuple(
    Port(p["protocol"], p["port"], p["for"]) for p in BASELINE["egress"]
)
"""What every host reaches on the internet: DNS, NTP, package mirrors and registries."""

API_EGRESS: tuple[Port, ...] = tuple(
    Port(p["protocol"], p["port"], p["for"]) for p in BASELINE["apiEgress"]
)
"""What the API hosts reach besides: MongoDB Atlas."""

SUPPORTED_IMAGES: tuple[str, ...] = tuple(BASELINE["supportedImages"])
"""Image slugs in standard support, newest first."""

END_OF_LIFE_IMAGES: dict[str, str] = dict(BASELINE["endOfLifeImages"])
"""Image slugs past their end of standard support, with when and why."""
