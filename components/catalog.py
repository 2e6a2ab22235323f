"""Lists of DigitalOcean values the settings accept, kept by the project.

Source: DigitalOcean's published slugs (docs.digitalocean.com, "Droplet pricing" and
"Regional availability" pages, and the API's /v2/sizes and /v2/regions), cross-checked
against the ``DropletSlug`` and ``Region`` enums of pulumi-digitalocean 4.84.1 (the
provider schema). Retrieved 2026-11-26. ``tests/test_catalog.py`` fails if an entry
here is missing from the pinned SDK's enums, so a typo cannot slip in; a slug that
DigitalOcean adds later is added here by hand, with the date.

Left out on purpose: first-generation sizes (``512mb``, ``1gb``, ..., ``s-1vcpu-3gb``,
``s-3vcpu-1gb``) that DigitalOcean no longer sells, GPU sizes (not an API host), and
regions closed to new Droplets (``nyc2``, ``ams2``, ``sfo1``).
"""

from __future__ import annotations

from . import baseline

AS_OF = "2026-11-26"

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

DROPLET_SIZES: tuple[str, ...] = (
    # Basic (shared CPU), regular and premium AMD/Intel.
    "s-1vcpu-512mb-10gb",
    "s-1vcpu-1gb",
    "s-1vcpu-1gb-amd",
    "s-1vcpu-1gb-intel",
    "s-1vcpu-2gb",
    "s-1vcpu-2gb-amd",
    "s-1vcpu-2gb-intel",
    "s-2vcpu-2gb",
    "s-2vcpu-2gb-amd",
    "s-2vcpu-2gb-intel",
    "s-2vcpu-4gb",
    "s-2vcpu-4gb-amd",
    "s-2vcpu-4gb-intel",
    "s-2vcpu-8gb-amd",
    "s-4vcpu-8gb",
    "s-4vcpu-8gb-amd",
    "s-4vcpu-8gb-intel",
    "s-4vcpu-16gb-amd",
    "s-8vcpu-16gb",
    "s-8vcpu-16gb-amd",
    "s-8vcpu-16gb-intel",
    "s-8vcpu-32gb-amd",
    # General purpose (dedicated CPU).
    "g-2vcpu-8gb",
    "gd-2vcpu-8gb",
    "g-4vcpu-16gb",
    "gd-4vcpu-16gb",
    "g-8vcpu-32gb",
    "gd-8vcpu-32gb",
    "g-16vcpu-64gb",
    "gd-16vcpu-64gb",
    # CPU-optimised (dedicated CPU).
    "c-2",
    "c2-2vcpu-4gb",
    "c-4",
    "c2-4vcpu-8gb",
    "c-8",
    "c2-8vcpu-16gb",
    "c-16",
    "c2-16vcpu-32gb",
    "c-32",
    "c2-32vcpu-64gb",
    # Memory-optimised (dedicated CPU).
    "m-2vcpu-16gb",
    "m3-2vcpu-16gb",
    "m-4vcpu-32gb",
    "m3-4vcpu-32gb",
    "m-8vcpu-64gb",
    "m3-8vcpu-64gb",
)
"""Droplet size slugs an API droplet (or the dev Redis droplet) may use."""

IMAGES: tuple[str, ...] = ("ubuntu-24-04-x64", "ubuntu-22-04-x64")
"""Ubuntu LTS images in standard support. The cloud-init template installs Docker from
Docker's Ubuntu repository, so the hosts must run Ubuntu; a custom snapshot built from
one of these can be given by its numeric image id instead."""

END_OF_LIFE_IMAGES = baseline.END_OF_LIFE_IMAGES
"""Images that used to be valid here, with why they no longer are (shared with the
policy pack: policies/matra_policies/baseline.json)."""

DATABASE_SIZES: tuple[str, ...] = (
    "db-s-1vcpu-1gb",
    "db-s-1vcpu-2gb",
    "db-s-2vcpu-4gb",
    "db-s-4vcpu-8gb",
    "db-s-6vcpu-16gb",
    "db-s-8vcpu-32gb",
    "db-s-16vcpu-64gb",
)
"""DigitalOcean managed database (Valkey) size slugs; same source and date."""

VALKEY_VERSIONS: tuple[str, ...] = ("8",)
"""Managed Valkey major versions DigitalOcean offers (Managed Redis was discontinued on
2025-06-30; Valkey replaces it)."""

ATLAS_TIERS: tuple[str, ...] = ("M0", "M10", "M20", "M30", "M40", "M50", "M60", "M80")
"""MongoDB Atlas cluster tiers this project provisions: M0 is the free shared tier
(no backups, one per project), M10 and up are dedicated replica sets. Source: MongoDB
Atlas cluster tier documentation, retrieved 2026-11-26."""

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
