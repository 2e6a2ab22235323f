"""The project's lists of DigitalOcean values agree with the pinned provider SDK, and an
image past its end of life is never offered."""

import pulumi_digitalocean as digitalocean

from matra_data import catalog


def test_every_droplet_size_is_a_provider_slug():
    known = {slug.value for slug in digitalocean.DropletSlug}
    assert [s for s in catalog.DROPLET_SIZES if s not in known] == []
    assert len(set(catalog.DROPLET_SIZES)) == len(catalog.DROPLET_SIZES)


def test_every_region_is_a_provider_region():
    known = {region.value for region in digitalocean.Region}
    assert [r for r in catalog.REGIONS if r not in known] == []


def test_end_of_life_images_are_not_offered():
    assert not set(catalog.END_OF_LIFE_IMAGES) & set(catalog.IMAGES)
