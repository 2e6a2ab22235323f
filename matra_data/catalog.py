"""Lists of DigitalOcean and Atlas values the settings accept, kept by the project.

The droplet sizes, database sizes and Atlas tiers are the entries of the price catalogue
(prices.json beside this file): a size or tier is accepted only with a price, so the
cost estimate can price every stack that loads.

Source of the slugs: DigitalOcean's published slugs (docs.digitalocean.com, "Droplet
pricing" and "Regional availability" pages, and the API's /v2/sizes and /v2/regions),
cross-checked
against the ``DropletSlug`` and ``Region`` enums of pulumi-digitalocean 4.84.1 (the
provider schema). Retrieved 2026-11-26. ``tests/test_catalog.py`` fails if an entry
here is missing from the pinned SDK's enums, so a typo cannot slip in; a slug that
DigitalOcean adds later is added by hand, with its price, source and date.

Left out on purpose: first-generation sizes (``512mb``, ``1gb``, ..., ``s-1vcpu-3gb``,
``s-3vcpu-1gb``) that DigitalOcean no longer sells, GPU sizes (not an API host), and
regions closed to new Droplets (``nyc2``, ``ams2``, ``sfo1``).
"""

from __future__ import annotations

from . import baseline, prices

REGIONS: tuple[str, ...] = (
    "nyc1",
    "nyc3",
    "sfo2",
    "sfo3",
    "tor1",
    "ams3",
    "fra1",
    "lon1",
    "sgp1",
    "blr1",
    "syd1",
)
"""Regions that take new Droplets, VPCs, load balancers and managed databases."""

DROPLET_SIZES: tuple[str, ...] = tuple(prices.DROPLETS)
"""Droplet size slugs an API droplet (or the dev Redis droplet) may use: exactly those
with a price in prices.json (Basic shared-CPU regular and premium
AMD/Intel, then General purpose, CPU-optimised and Memory-optimised dedicated CPU), so a
size the settings accept always has a price."""

IMAGES = baseline.SUPPORTED_IMAGES
"""Ubuntu LTS images in standard support, newest first (shared with the policy pack, whose
fix for an end-of-life image names the first). The cloud-init template installs Docker
from Docker's Ubuntu repository, so the hosts must run Ubuntu; a custom snapshot built
from one of these can be given by its numeric image id instead."""

END_OF_LIFE_IMAGES = baseline.END_OF_LIFE_IMAGES
"""Images that used to be valid here, with why they no longer are (shared with the
policy pack: baseline.json)."""

DATABASE_SIZES: tuple[str, ...] = tuple(prices.DATABASES)
"""DigitalOcean managed database (Valkey) size slugs: those with a per-node price in
prices.json."""

VALKEY_VERSIONS: tuple[str, ...] = ("8",)
"""Managed Valkey major versions DigitalOcean offers (Managed Redis was discontinued on
2025-06-30; Valkey replaces it)."""

ATLAS_TIERS: tuple[str, ...] = tuple(prices.ATLAS_TIERS)
"""MongoDB Atlas cluster tiers this project provisions, those with an hourly price in
prices.json: M0 is the free shared tier (no backups, one per project), M10 and up are
dedicated replica sets. Source: MongoDB Atlas cluster tier documentation, retrieved
2026-11-26."""

ATLAS_MONGODB_VERSIONS: tuple[str, ...] = ("7.0", "8.0")
"""MongoDB major versions Atlas offers for new clusters (as of 2026-11-26)."""

ATLAS_REGIONS: dict[str, str] = {
    "nyc": "US_EAST_1",  # New York -> AWS N. Virginia
    "sfo": "US_WEST_1",  # San Francisco -> AWS N. California
    "tor": "CA_CENTRAL_1",  # Toronto -> AWS Canada (Central)
    "ams": "EU_CENTRAL_1",  # Amsterdam -> AWS Frankfurt (nearest AWS region)
    "fra": "EU_CENTRAL_1",  # Frankfurt -> AWS Frankfurt
    "lon": "EU_WEST_2",  # London -> AWS London
    "sgp": "AP_SOUTHEAST_1",  # Singapore -> AWS Singapore
    "blr": "AP_SOUTH_1",  # Bangalore -> AWS Mumbai
    "syd": "AP_SOUTHEAST_2",  # Sydney -> AWS Sydney
}
"""The Atlas (AWS) region nearest each DigitalOcean region, keyed by the region slug's
city prefix. Atlas region names: MongoDB Atlas "Amazon Web Services (AWS)" region
reference, retrieved 2026-11-26."""

ATLAS_PROVIDER = "AWS"
"""Cloud that hosts the Atlas cluster (and backs the M0 tenant tier)."""


def atlas_region_for(do_region: str) -> str:
    """The Atlas region for a DigitalOcean region slug such as ``nyc3``."""
    return ATLAS_REGIONS[do_region.rstrip("0123456789")]
