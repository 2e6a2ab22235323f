"""Data settings: the MongoDB Atlas cluster, the cache, and how they are protected."""

from __future__ import annotations

from dataclasses import dataclass

from matra_data import catalog, prices

from .reader import ConfigReader

PLACEHOLDER_ATLAS_ORG_ID = "0123456789abcdef01234567"
"""The organisation id the shipped stack files carry until an operator sets theirs."""
ATLAS_NODE_COUNTS = (3, 5, 7)
REDIS_MODES = ("managed", "droplet")


@dataclass(frozen=True)
class AtlasSettings:
    org_id: str
    tier: str
    node_count: int
    mongodb_version: str
    backups: bool
    backup_retention_days: int
    point_in_time: bool

    @property
    def is_shared(self) -> bool:
        """M0 runs on shared (tenant) infrastructure and has no cloud backup."""
        return self.tier == "M0"


@dataclass(frozen=True)
class RedisSettings:
    mode: str
    """managed: DigitalOcean managed Valkey; droplet: redis-server on a small droplet."""
    size: str
    node_count: int
    version: str


@dataclass(frozen=True)
class DataSettings:
    atlas: AtlasSettings
    redis: RedisSettings
    app_database: str
    """The app's MongoDB database; the app's user gets readWrite on it alone."""
    protect: bool
    """Pulumi protect and Atlas termination protection on the data."""


def read_data(r: ConfigReader, environment: str) -> DataSettings:
    data = DataSettings(
        atlas=_atlas(r),
        redis=_redis(r),
        app_database=r.matching(
            "appDatabase",
            "a MongoDB database name (letters, digits, _ and -, at most 38 characters)",
            r"^[A-Za-z0-9_-]{1,38}$",
        ),
        protect=r.boolean("protectData"),
    )
    r.check(
        environment != "Production" or data.protect,
        "protectData",
        f"true when {r.key('environment')} is Production (Pulumi protect and Atlas termination "
        "protection on the data)",
        given=("environment",),
    )
    return data


def _atlas(r: ConfigReader) -> AtlasSettings:
    atlas = AtlasSettings(
        org_id=r.matching(
            "atlasOrgId",
            "a MongoDB Atlas organisation id (24 lower-case hex digits, from the Atlas UI: "
            "Organization Settings)",
            r"^[0-9a-f]{24}$",
        ),
        tier=r.string(
            "atlasTier",
            f"one of: {', '.join(catalog.ATLAS_TIERS)} (the Atlas tiers priced in "
            f"{prices.PRICES_PATH})",
            lambda v: v in catalog.ATLAS_TIERS,
        ),
        node_count=r.one_of_ints("atlasNodeCount", ATLAS_NODE_COUNTS, "3, 5 or 7 electable nodes"),
        mongodb_version=r.choice("atlasMongoVersion", catalog.ATLAS_MONGODB_VERSIONS),
        backups=r.boolean("atlasBackups"),
        backup_retention_days=r.integer("atlasBackupRetentionDays", 1, 365),
        point_in_time=r.boolean("atlasPointInTime"),
    )
    r.check(
        not (atlas.is_shared and atlas.backups),
        "atlasBackups",
        f"false with {r.key('atlasTier')} M0 (the shared M0 tier has no cloud backup; use M10 "
        "or larger for backups)",
        given=("atlasTier",),
    )
    r.check(
        not atlas.is_shared or atlas.node_count == 3,
        "atlasNodeCount",
        f"3 with {r.key('atlasTier')} M0 (the shared tier is a fixed 3-node replica set)",
        given=("atlasTier",),
    )
    r.check(
        atlas.backups or not atlas.point_in_time,
        "atlasPointInTime",
        f"false unless {r.key('atlasBackups')} is true (point-in-time restore needs cloud backup)",
        given=("atlasBackups",),
    )
    if atlas.org_id == PLACEHOLDER_ATLAS_ORG_ID:
        r.placeholder(
            "atlasOrgId",
            atlas.org_id,
            "the placeholder the shipped stack files carry",
            "set your Atlas organisation's id (Atlas UI: Organization Settings) with "
            f"pulumi config set {r.key('atlasOrgId')} <id>",
        )
    return atlas


def _redis(r: ConfigReader) -> RedisSettings:
    mode = r.choice("redisMode", REDIS_MODES)
    redis = RedisSettings(
        mode=mode,
        size=_redis_size(r, mode),
        node_count=r.integer("redisNodeCount", 1, 3),
        version=r.choice("redisVersion", catalog.VALKEY_VERSIONS),
    )
    r.check(
        mode != "droplet" or redis.node_count == 1,
        "redisNodeCount",
        f"1 with {r.key('redisMode')} droplet (a single cache droplet; use managed for standby "
        "nodes)",
        given=("redisMode",),
    )
    return redis


def _redis_size(r: ConfigReader, mode: str) -> str:
    """A size from the list the mode decides: managed database sizes or droplet sizes."""
    if not r.valid("redisMode"):
        r.raw("redisSize")  # a known key even when the mode, which decides its list, is bad
        return ""
    if mode == "managed":
        return r.string(
            "redisSize",
            "a managed database size slug for redisMode managed, each priced in "
            f"{prices.PRICES_PATH}: {', '.join(catalog.DATABASE_SIZES)}",
            lambda v: v in catalog.DATABASE_SIZES,
        )
    return r.string(
        "redisSize",
        "a droplet size slug for redisMode droplet, such as s-1vcpu-1gb "
        f"(matra_data/catalog.py lists them, each priced in {prices.PRICES_PATH})",
        lambda v: v in catalog.DROPLET_SIZES,
    )
