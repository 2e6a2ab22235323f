"""Fleet settings: where the API droplets run, how many, what size, their backups, and
how traffic reaches them (load balancer or reserved IP, hostname, app port)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from matra_data import catalog, prices

from .checks import is_hostname, is_vpc_range
from .reader import ConfigReader

MAX_DROPLETS = 50
BACKUP_PLANS = ("weekly", "daily")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
BACKUP_HOURS = (0, 4, 8, 12, 16, 20)
_IMAGE_ID = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class BackupPolicy:
    plan: str
    weekday: str
    hour: int


@dataclass(frozen=True)
class FleetSettings:
    region: str
    vpc_ip_range: str
    droplet_count: int
    droplet_size: str
    droplet_image: str
    backup_policy: BackupPolicy | None
    """None: droplet backups off."""
    load_balancer: bool
    load_balancer_size_unit: int
    app_port: int
    health_path: str
    api_hostname: str
    dns_zone: str | None

    @property
    def dns_record_name(self) -> str | None:
        """The api hostname relative to the managed zone ("@" for the apex)."""
        if self.dns_zone is None:
            return None
        if self.api_hostname == self.dns_zone:
            return "@"
        return self.api_hostname[: -len(self.dns_zone) - 1]

    @property
    def release_source(self) -> str:
        """Where a new host asks which release the fleet runs: the API's /.matra/release
        at its hostname, which resolves only when the stack manages that name ("" then:
        a new host starts without asking)."""
        if self.dns_zone is None:
            return ""
        return f"http://{self.api_hostname}/.matra/release"


def read_fleet(r: ConfigReader) -> FleetSettings:
    fleet = FleetSettings(
        region=r.choice("region", catalog.REGIONS),
        vpc_ip_range=r.string(
            "vpcIpRange",
            "a private IPv4 range (RFC 1918) from /16 to /24 in CIDR notation, clear of "
            "Docker's 172.17.0.0/16, such as 10.10.0.0/20",
            is_vpc_range,
        ),
        droplet_count=r.integer("dropletCount", 1, MAX_DROPLETS),
        droplet_size=r.string(
            "dropletSize",
            f"a droplet size slug from matra_data/catalog.py, each priced in "
            f"{prices.PRICES_PATH}: {', '.join(catalog.DROPLET_SIZES)}",
            lambda v: v in catalog.DROPLET_SIZES,
        ),
        droplet_image=_image(r),
        backup_policy=_backup_policy(r),
        load_balancer=r.boolean("loadBalancer"),
        load_balancer_size_unit=r.integer("loadBalancerSizeUnit", 1, 100),
        app_port=r.integer("appPort", 1024, 65535),
        health_path=r.matching(
            "healthPath", "an absolute URL path such as /healthz", r"^/[A-Za-z0-9._~/-]*$"
        ),
        api_hostname=r.string(
            "apiHostname", "a fully-qualified lower-case hostname such as api.matra.io", is_hostname
        ),
        dns_zone=r.optional_string(
            "dnsZone",
            "a DNS zone hosted in DigitalOcean DNS, such as matra.io, or unset",
            is_hostname,
        ),
    )
    r.check(
        fleet.load_balancer or fleet.droplet_count == 1,
        "dropletCount",
        f"1 when {r.key('loadBalancer')} is false (without a load balancer the reserved IP "
        "fronts a single droplet)",
        given=("loadBalancer",),
    )
    r.check(
        not fleet.load_balancer or fleet.dns_zone is not None,
        "dnsZone",
        f"the DigitalOcean DNS zone that holds {r.key('apiHostname')} when "
        f"{r.key('loadBalancer')} is true (DigitalOcean issues the load balancer's Let's "
        "Encrypt certificate only for a domain on its DNS)",
        given=("loadBalancer",),
    )
    zone, hostname = fleet.dns_zone, fleet.api_hostname
    r.check(
        not zone or hostname == zone or hostname.endswith("." + zone),
        "apiHostname",
        f"a name inside the managed zone {zone} ({r.key('dnsZone')})",
    )
    return fleet


def _backup_policy(r: ConfigReader) -> BackupPolicy | None:
    backups = r.boolean("dropletBackups")
    policy = BackupPolicy(
        plan=r.choice("backupPlan", BACKUP_PLANS),
        weekday=r.choice("backupWeekday", WEEKDAYS),
        hour=r.one_of_ints(
            "backupHour",
            BACKUP_HOURS,
            f"one of: {', '.join(map(str, BACKUP_HOURS))} (UTC; DigitalOcean backup windows "
            "start every 4 hours)",
        ),
    )
    return policy if backups else None


def _image(r: ConfigReader) -> str:
    value = r.raw("dropletImage")
    if value in catalog.END_OF_LIFE_IMAGES:
        r.fail(
            "dropletImage",
            value,
            f"a supported Ubuntu LTS image ({catalog.END_OF_LIFE_IMAGES[value]}): "
            f"{', '.join(catalog.IMAGES)}, or a numeric snapshot id",
        )
        return ""
    return r.string(
        "dropletImage",
        f"an Ubuntu LTS image slug ({', '.join(catalog.IMAGES)}) or a numeric snapshot id "
        "built from one",
        lambda v: v in catalog.IMAGES or bool(_IMAGE_ID.match(v)),
    )
