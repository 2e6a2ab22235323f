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

AS_OF = "2026-11-26"

REGIONS: tuple[str, ...] = (
    "nyc1", "nyc3", "sfo2", "sfo3", "tor1", "ams3", "fra1", "lon1", "sgp1", "blr1",
    "syd1",
)
"""Regions that take new Droplets, VPCs, load balancers and managed databases."""

DROPLET_SIZES: tuple[str, ...] = (
    # Basic (shared CPU), regular and premium AMD/Intel.
    "s-1vcpu-512mb-10gb", "s-1vcpu-1gb", "s-1vcpu-1gb-amd", "s-1vcpu-1gb-intel",
    "s-1vcpu-2gb", "s-1vcpu-2gb-amd", "s-1vcpu-2gb-intel",
    "s-2vcpu-2gb", "s-2vcpu-2gb-amd", "s-2vcpu-2gb-intel",
    "s-2vcpu-4gb", "s-2vcpu-4gb-amd", "s-2vcpu-4gb-intel", "s-2vcpu-8gb-amd",
    "s-4vcpu-8gb", "s-4vcpu-8gb-amd", "s-4vcpu-8gb-intel", "s-4vcpu-16gb-amd",
    "s-8vcpu-16gb", "s-8vcpu-16gb-amd", "s-8vcpu-16gb-intel", "s-8vcpu-32gb-amd",
    # General purpose (dedicated CPU).
    "g-2vcpu-8gb", "gd-2vcpu-8gb", "g-4vcpu-16gb", "gd-4vcpu-16gb",
    "g-8vcpu-32gb", "gd-8vcpu-32gb", "g-16vcpu-64gb", "gd-16vcpu-64gb",
    # CPU-optimised (dedicated CPU).
    "c-2", "c2-2vcpu-4gb", "c-4", "c2-4vcpu-8gb", "c-8", "c2-8vcpu-16gb",
    "c-16", "c2-16vcpu-32gb", "c-32", "c2-32vcpu-64gb",
    # Memory-optimised (dedicated CPU).
    "m-2vcpu-16gb", "m3-2vcpu-16gb", "m-4vcpu-32gb", "m3-4vcpu-32gb",
    "m-8vcpu-64gb", "m3-8vcpu-64gb",
)
"""Droplet size slugs an API droplet (or the dev Redis droplet) may use."""

IMAGES: tuple[str, ...] = ("ubuntu-24-04-x64", "ubuntu-22-04-x64")
"""Ubuntu LTS images in standard support. The cloud-init template installs Docker from
Docker's Ubuntu repository, so the hosts must run Ubuntu; a custom snapshot built from
one of these can be given by its numeric image id instead."""

END_OF_LIFE_IMAGES: dict[str, str] = {
    "ubuntu-20-04-x64": "Ubuntu 20.04 left standard support in May 2025",
    "ubuntu-18-04-x64": "Ubuntu 18.04 left standard support in May 2023",
}
"""Images that used to be valid here, with why they no longer are."""
