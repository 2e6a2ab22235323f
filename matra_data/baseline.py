"""The guardrails the program shares with the policy pack, read from the pack's
``matra_policies/baseline.json``: the egress the Cloud Firewalls open (and the pack
allows), the supported images (offered by the settings, named in the pack's fix) and the
end-of-life images (refused by the settings, flagged by the pack)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

BASELINE_FILE = (
    Path(__file__).resolve().parents[1] / "policies" / "matra_policies" / "baseline.json"
)


@dataclass(frozen=True)
class Port:
    protocol: str
    port: str
    purpose: str


_DATA = json.loads(BASELINE_FILE.read_text())

EGRESS: tuple[Port, ...] = tuple(Port(p["protocol"], p["port"], p["for"]) for p in _DATA["egress"])
"""What every host reaches on the internet: DNS, NTP, package mirrors and registries."""

API_EGRESS: tuple[Port, ...] = tuple(
    Port(p["protocol"], p["port"], p["for"]) for p in _DATA["apiEgress"]
)
"""What the API hosts reach besides: MongoDB Atlas."""

SUPPORTED_IMAGES: tuple[str, ...] = tuple(_DATA["supportedImages"])
"""Image slugs in standard support, newest first."""

END_OF_LIFE_IMAGES: dict[str, str] = dict(_DATA["endOfLifeImages"])
"""Image slugs past their end of standard support, with when and why."""
