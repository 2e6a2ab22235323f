"""The stack's settings: read once from Pulumi config, validated, typed.

Every key is declared in ``Pulumi.yaml`` (type, default, description); the CLI applies
those defaults. This module turns the raw values into one frozen ``StackSettings``.
Every problem found is reported as one line naming the key, the value and what is
allowed, and the program stops with a ``pulumi.RunError`` (which the language host
prints without a traceback) before any resource is registered.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Callable, Optional, TypeVar

import pulumi

from . import catalog

PROJECT = "matra-infra"

ENVIRONMENTS = ("Development", "Staging", "Production")
BACKUP_PLANS = ("weekly", "daily")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
BACKUP_HOURS = (0, 4, 8, 12, 16, 20)
MAX_DROPLETS = 50
ADMIN_USER = "ops"
"""The administration user on every host: Pulumi's automation key and the operators'
keys log in as it, with passwordless sudo. The app's deploy job uses deployUser."""

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_UNIX_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_SSH_PUBLIC_KEY = re.compile(
    r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com"
    r"|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$"
)
_HEALTH_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")
_IMAGE_ID = re.compile(r"^[0-9]+$")
_ATLAS_ORG_ID = re.compile(r"^[0-9a-f]{24}$")
_DATABASE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,38}$")
REDIS_MODES = ("managed", "droplet")
TLS_CHALLENGES = ("http-01", "dns-01")
_EMAIL = re.compile(r"^[^@\s]+@[a-z0-9.-]+\.[a-z]{2,}$")
_HTTPS_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$")
_ENV_KEY = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_REGISTRY = re.compile(r"^[a-z0-9-]{1,63}$")
RESERVED_ENV_KEYS = frozenset({"MONGODB_URI", "REDIS_URL"})
ATLAS_NODE_COUNTS = (3, 5, 7)
_DOCKER_BRIDGE = ipaddress.ip_network("172.17.0.0/16")

T = TypeVar("T")


class ConfigError(pulumi.RunError):
    """Bad stack configuration; the message has one line per problem."""


@dataclass(frozen=True)
class BackupPolicy:
    plan: str
    weekday: str
    hour: int


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
class TlsSettings:
    challenge: str
    """http-01 (a lone droplet) or dns-01 (a fleet behind the load balancer)."""
    acme_directory_url: str
    email: str
    dns_token: Optional[pulumi.Output[str]]
    """DigitalOcean token for DNS-01 (a secret); None where the challenge is http-01, or
    during a preview that lacks it."""


@dataclass(frozen=True)
class DeliverySettings:
    registry_name: str
    app_env: tuple[tuple[str, str], ...]
    """Plain app settings for /opt/matra/.env, in order."""
    app_secret_env: Optional[pulumi.Output[str]]
    """Secret app settings (dotenv lines) for /opt/matra/.env, or None."""


@dataclass(frozen=True)
class AutomationKey:
    """An operator-supplied automation key pair; the private half stays a secret."""

    public_key: str
    private_key: pulumi.Output[str]


@dataclass(frozen=True)
class StackSettings:
    stack: str
    environment: str
    region: str
    vpc_ip_range: str
    droplet_count: int
    droplet_size: str
    droplet_image: str
    droplet_backups: bool
    backup_policy: Optional[BackupPolicy]
    admin_ssh_sources: tuple[str, ...]
    ssh_public_keys: tuple[str, ...]
    automation_key: Optional[AutomationKey]
    deploy_public_key: Optional[str]
    """The deploy job's own public key; None generates a pair for it."""
    deploy_user: str
    app_port: int
    health_path: str
    load_balancer: bool
    load_balancer_size_unit: int
    api_hostname: str
    dns_zone: Optional[str]
    atlas: AtlasSettings
    redis: RedisSettings
    app_database: str
    protect_data: bool
    tls: TlsSettings
    delivery: DeliverySettings

    @property
    def name_prefix(self) -> str:
        """Prefix of cloud-side names, unique per stack in one account."""
        return f"matra-{self.stack}"

    @property
    def fleet_tag(self) -> str:
        """The DigitalOcean tag that marks this stack's API droplets (tags are
        account-wide, so it carries the stack name)."""
        return f"matra-{self.stack}-api"

    @property
    def dns_record_name(self) -> Optional[str]:
        """The api hostname relative to the managed zone ("@" for the apex)."""
        if self.dns_zone is None:
            return None
        if self.api_hostname == self.dns_zone:
            return "@"
        return self.api_hostname[: -len(self.dns_zone) - 1]


class _Reader:
    """Reads raw config values and records one line per problem."""

    def __init__(self, config: pulumi.Config) -> None:
        self._config = config
        self.errors: list[str] = []
        self.read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self._config.name}:{name}"

    def fail(self, name: str, value: object, expected: str) -> None:
        if value is None:
            shown = "(missing)"
        elif pulumi.runtime.is_config_secret(self.key(name)):
            shown = "(value hidden)"  # stored as a secret: never echo it
        else:
            shown = repr(value)
        self.errors.append(f"{self.key(name)}: {shown} is not allowed; expected {expected}")

    def raw(self, name: str) -> Optional[str]:
        self.read.add(name)
        return self._config.get(name)

    def reject_unknown_keys(self) -> None:
        """A key in the project's namespace that no setting reads is a typo."""
        prefix = f"{self._config.name}:"
        present = set(pulumi.runtime.config.CONFIG.get()) | set(
            pulumi.runtime.config.get_config_env())
        for full_key in sorted(present):
            name = full_key[len(prefix):]
            if full_key.startswith(prefix) and name not in self.read:
                close = difflib.get_close_matches(name, sorted(self.read), n=1)
                hint = f"did you mean {prefix}{close[0]}? " if close else ""
                self.errors.append(f"{full_key}: unknown key; {hint}expected one of the "
                                   f"keys declared in Pulumi.yaml")

    def parse(self, name: str, expected: str, convert: Callable[[str], T],
              required: bool = True) -> Optional[T]:
        value = self.raw(name)
        if value is None or value == "":
            if required:
                self.fail(name, None, f"{expected} (set it with: pulumi config set "
                                      f"{self.key(name)} <value>)")
            return None
        try:
            return convert(value)
        except (ValueError, TypeError):
            self.fail(name, value, expected)
            return None

    def string(self, name: str, expected: str, valid: Callable[[str], bool],
               required: bool = True) -> Optional[str]:
        def convert(value: str) -> str:
            if not valid(value):
                raise ValueError(value)
            return value
        return self.parse(name, expected, convert, required)

    def choice(self, name: str, allowed: tuple[str, ...]) -> Optional[str]:
        return self.string(name, f"one of: {', '.join(allowed)}", lambda v: v in allowed)

    def one_of_ints(self, name: str, allowed: tuple[int, ...], expected: str) -> Optional[int]:
        def convert(value: str) -> int:
            number = int(value.strip())
            if number not in allowed:
                raise ValueError(value)
            return number
        return self.parse(name, expected, convert)

    def integer(self, name: str, low: int, high: int) -> Optional[int]:
        def convert(value: str) -> int:
            number = int(value.strip())
            if not low <= number <= high:
                raise ValueError(value)
            return number
        return self.parse(name, f"a whole number from {low} to {high}", convert)

    def boolean(self, name: str) -> Optional[bool]:
        def convert(value: str) -> bool:
            lowered = value.strip().lower()
            if lowered not in ("true", "false"):
                raise ValueError(value)
            return lowered == "true"
        return self.parse(name, "true or false", convert)

    def string_list(self, name: str, item_expected: str, valid: Callable[[str], bool],
                    min_items: int = 0) -> Optional[tuple[str, ...]]:
        value = self.raw(name)
        if value is None or value == "":
            items: list[object] = []
        else:
            try:
                items = json.loads(value)
            except ValueError:
                items = None  # type: ignore[assignment]
            if not isinstance(items, list):
                self.fail(name, value, f"a list of {item_expected}")
                return None
        good = True
        for item in items:
            if not isinstance(item, str) or not valid(item):
                self.fail(name, item, f"each item to be {item_expected}")
                good = False
        if good and len(items) < min_items:
            self.fail(name, value, f"at least {min_items} {item_expected}")
            good = False
        return tuple(items) if good else None  # type: ignore[arg-type]


def is_hostname(value: str) -> bool:
    """A lower-case fully-qualified DNS name with at least two labels."""
    labels = value.split(".")
    return (len(value) <= 253 and len(labels) >= 2
            and all(_HOST_LABEL.match(label) for label in labels)
            and not labels[-1].isdigit())


def _network(value: str) -> Optional[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError:
        return None


def is_cidr(value: str) -> bool:
    """An IPv4 or IPv6 network in CIDR notation with no host bits set."""
    return "/" in value and _network(value) is not None


def is_vpc_range(value: str) -> bool:
    """DigitalOcean VPC ranges: RFC 1918, /16 to /24, clear of Docker's bridge."""
    net = _network(value) if "/" in value else None
    return (isinstance(net, ipaddress.IPv4Network) and net.is_private
            and not net.is_loopback and not net.is_link_local
            and 16 <= net.prefixlen <= 24 and not net.overlaps(_DOCKER_BRIDGE)
            and any(net.subnet_of(ipaddress.IPv4Network(block)) for block in
                    ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")))


def is_ssh_public_key(value: str) -> bool:
    return bool(_SSH_PUBLIC_KEY.match(value.strip()))


def load(config: Optional[pulumi.Config] = None, stack: Optional[str] = None) -> StackSettings:
    """Read and validate every stack setting; raise ConfigError listing each problem."""
    config = config or pulumi.Config()
    stack = stack or pulumi.get_stack()
    r = _Reader(config)

    environment = r.choice("environment", ENVIRONMENTS)
    region = r.choice("region", catalog.REGIONS)
    vpc_ip_range = r.string(
        "vpcIpRange", "a private IPv4 range (RFC 1918) from /16 to /24 in CIDR notation, "
        "clear of Docker's 172.17.0.0/16, such as 10.10.0.0/20", is_vpc_range)
    droplet_count = r.integer("dropletCount", 1, MAX_DROPLETS)
    droplet_size = r.string(
        "dropletSize", f"a droplet size slug from components/catalog.py "
        f"(as of {catalog.AS_OF}): {', '.join(catalog.DROPLET_SIZES)}",
        lambda v: v in catalog.DROPLET_SIZES)

    image_value = r.raw("dropletImage")
    if image_value in catalog.END_OF_LIFE_IMAGES:
        r.fail("dropletImage", image_value,
               f"a supported Ubuntu LTS image ({catalog.END_OF_LIFE_IMAGES[image_value]}): "
               f"{', '.join(catalog.IMAGES)}, or a numeric snapshot id")
        droplet_image = None
    else:
        droplet_image = r.string(
            "dropletImage", f"an Ubuntu LTS image slug ({', '.join(catalog.IMAGES)}) "
            "or a numeric snapshot id built from one",
            lambda v: v in catalog.IMAGES or bool(_IMAGE_ID.match(v)))

    droplet_backups = r.boolean("dropletBackups")
    plan = r.choice("backupPlan", BACKUP_PLANS)
    weekday = r.choice("backupWeekday", WEEKDAYS)
    hour = r.one_of_ints("backupHour", BACKUP_HOURS,
                         f"one of: {', '.join(map(str, BACKUP_HOURS))} (UTC; "
                         "DigitalOcean backup windows start every 4 hours)")
    backup_policy = None
    if droplet_backups and plan is not None and weekday is not None and hour is not None:
        backup_policy = BackupPolicy(plan=plan, weekday=weekday, hour=hour)

    admin_ssh_sources = r.string_list(
        "adminSshSources", "an IPv4 or IPv6 network in CIDR notation (e.g. 198.51.100.0/24)",
        is_cidr, min_items=1)
    ssh_public_keys = r.string_list(
        "sshPublicKeys", "an OpenSSH public key line (ssh-ed25519 AAAA... comment)",
        is_ssh_public_key)
    automation_key = _automation_key(r, config)

    deploy_user = r.string(
        "deployUser", "a Linux user name (lower case, starts with a letter or _, at most "
        f"32 characters, not root or {ADMIN_USER})",
        lambda v: bool(_UNIX_USER.match(v)) and v not in ("root", ADMIN_USER))
    deploy_public_key = r.string(
        "deploySshPublicKey", "the deploy job's OpenSSH public key line (ssh-ed25519 "
        "AAAA...), or unset to let the program generate the pair", is_ssh_public_key,
        required=False)
    app_port = r.integer("appPort", 1024, 65535)
    health_path = r.string("healthPath", "an absolute URL path such as /healthz",
                           lambda v: bool(_HEALTH_PATH.match(v)))

    load_balancer = r.boolean("loadBalancer")
    load_balancer_size_unit = r.integer("loadBalancerSizeUnit", 1, 100)
    api_hostname = r.string("apiHostname", "a fully-qualified lower-case hostname such "
                            "as api.matra.io", is_hostname)
    dns_zone = r.string("dnsZone", "a DNS zone hosted in DigitalOcean DNS, such as "
                        "matra.io, or unset", is_hostname, required=False)

    atlas = _atlas(r)
    redis = _redis(r)
    app_database = r.string("appDatabase", "a MongoDB database name (letters, digits, _ "
                            "and -, at most 38 characters)",
                            lambda v: bool(_DATABASE_NAME.match(v)))
    protect_data = r.boolean("protectData")
    tls = _tls(r, config, load_balancer)
    delivery = _delivery(r, config)

    # Rules that span keys, checked only when each key on its own is valid.
    if load_balancer is False and droplet_count is not None and droplet_count > 1:
        r.fail("dropletCount", r.raw("dropletCount"),
               "1 when matra-infra:loadBalancer is false (without a load balancer the "
               "reserved IP fronts a single droplet)")
    if environment == "Production" and protect_data is False:
        r.fail("protectData", r.raw("protectData"), "true when matra-infra:environment is "
               "Production (Pulumi protect and Atlas termination protection on the data)")
    if (api_hostname and dns_zone and api_hostname != dns_zone
            and not api_hostname.endswith("." + dns_zone)):
        r.fail("apiHostname", api_hostname,
               f"a name inside the managed zone {dns_zone} (matra-infra:dnsZone)")

    r.reject_unknown_keys()
    if r.errors:
        raise ConfigError("\n".join(r.errors))

    return StackSettings(
        stack=stack,
        environment=environment,  # type: ignore[arg-type]
        region=region,  # type: ignore[arg-type]
        vpc_ip_range=vpc_ip_range,  # type: ignore[arg-type]
        droplet_count=droplet_count,  # type: ignore[arg-type]
        droplet_size=droplet_size,  # type: ignore[arg-type]
        droplet_image=droplet_image,  # type: ignore[arg-type]
        droplet_backups=bool(droplet_backups),
        backup_policy=backup_policy,
        admin_ssh_sources=admin_ssh_sources,  # type: ignore[arg-type]
        ssh_public_keys=ssh_public_keys,  # type: ignore[arg-type]
        automation_key=automation_key,
        deploy_public_key=deploy_public_key,
        deploy_user=deploy_user,  # type: ignore[arg-type]
        app_port=app_port,  # type: ignore[arg-type]
        health_path=health_path,  # type: ignore[arg-type]
        load_balancer=bool(load_balancer),
        load_balancer_size_unit=load_balancer_size_unit,  # type: ignore[arg-type]
        api_hostname=api_hostname,  # type: ignore[arg-type]
        dns_zone=dns_zone,
        atlas=atlas,  # type: ignore[arg-type]
        redis=redis,  # type: ignore[arg-type]
        app_database=app_database,  # type: ignore[arg-type]
        protect_data=bool(protect_data),
        tls=tls,  # type: ignore[arg-type]
        delivery=delivery,  # type: ignore[arg-type]
    )


def _secret_set(r: _Reader, config: pulumi.Config, name: str) -> Optional[pulumi.Output[str]]:
    """A secret setting: None when unset; refused (value never echoed) when plain."""
    if r.raw(name) in (None, ""):
        return None
    if not pulumi.runtime.is_config_secret(r.key(name)):
        r.errors.append(f"{r.key(name)}: (value hidden) is stored in plain text; expected a "
                        f"secret (set it with: pulumi config set --secret {r.key(name)} "
                        "< file)")
        return None
    return config.require_secret(name)


def _tls(r: _Reader, config: pulumi.Config, load_balancer: Optional[bool]
         ) -> Optional[TlsSettings]:
    challenge = r.choice("tlsChallenge", TLS_CHALLENGES)
    url = r.string("acmeDirectoryUrl", "the https URL of an ACME directory, such as "
                   "https://acme-v02.api.letsencrypt.org/directory",
                   lambda v: bool(_HTTPS_URL.match(v)))
    email = r.string("acmeEmail", "an e-mail address for the ACME account (expiry notices)",
                     lambda v: bool(_EMAIL.match(v)))
    token = _secret_set(r, config, "certbotDnsToken")
    if challenge == "http-01" and load_balancer:
        r.fail("tlsChallenge", challenge, "dns-01 when matra-infra:loadBalancer is true "
               "(behind the load balancer the ACME server's HTTP request lands on a random "
               "droplet)")
    if challenge == "dns-01" and r.raw("dnsZone") in (None, ""):
        r.fail("tlsChallenge", challenge, "http-01 unless matra-infra:dnsZone names the "
               "DigitalOcean DNS zone that certbot writes the TXT record to")
    if challenge == "dns-01" and token is None and not r.errors:
        message = (f"{r.key('certbotDnsToken')}: (missing) is not allowed; expected a secret "
                   "DigitalOcean token with DNS write scope for the dns-01 challenge (set it "
                   f"with: pulumi config set --secret {r.key('certbotDnsToken')} < token-file)")
        if not pulumi.runtime.is_dry_run():
            r.errors.append(message)
        else:
            # A preview registers nothing on the hosts; `pulumi up` refuses without it.
            pulumi.log.warn(message + "; `pulumi up` will refuse to run without it")
    if None in (challenge, url, email):
        return None
    return TlsSettings(challenge=challenge, acme_directory_url=url, email=email,  # type: ignore
                       dns_token=token if challenge == "dns-01" else None)


def _delivery(r: _Reader, config: pulumi.Config) -> Optional[DeliverySettings]:
    registry = r.string("registryName", "a DigitalOcean container registry name (lower-case "
                        "letters, digits and -)", lambda v: bool(_REGISTRY.match(v)))
    entries = r.string_list("appEnv", "a KEY=value line (KEY in upper case, not "
                            f"{' or '.join(sorted(RESERVED_ENV_KEYS))}, which the stack sets)",
                            lambda v: _env_key(v) is not None)
    secret_env = _secret_set(r, config, "appSecretEnv")
    raw_secret = r.raw("appSecretEnv") or ""
    for number, line in enumerate(raw_secret.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#") and _env_key(line) is None:
            r.errors.append(f"{r.key('appSecretEnv')}: line {number} (value hidden) is not "
                            "allowed; expected KEY=value lines with upper-case keys other "
                            f"than {' and '.join(sorted(RESERVED_ENV_KEYS))}")
    if registry is None or entries is None:
        return None
    pairs = tuple((_env_key(line), line.split("=", 1)[1]) for line in entries)
    return DeliverySettings(registry_name=registry, app_env=pairs,  # type: ignore[arg-type]
                            app_secret_env=secret_env)


def _env_key(line: str) -> Optional[str]:
    """The KEY of a KEY=value line, or None if it is not one (a line break in the value
    would smuggle a second setting into the .env)."""
    key, sep, value = line.partition("=")
    key = key.strip()
    if (not sep or not _ENV_KEY.match(key) or key in RESERVED_ENV_KEYS
            or "\n" in value or "\r" in value):
        return None
    return key


def _atlas(r: _Reader) -> Optional[AtlasSettings]:
    org_id = r.string("atlasOrgId", "a MongoDB Atlas organisation id (24 lower-case hex "
                      "digits, from the Atlas UI: Organization Settings)",
                      lambda v: bool(_ATLAS_ORG_ID.match(v)))
    tier = r.choice("atlasTier", catalog.ATLAS_TIERS)
    node_count = r.one_of_ints("atlasNodeCount", ATLAS_NODE_COUNTS,
                               "3, 5 or 7 electable nodes")
    version = r.choice("atlasMongoVersion", catalog.ATLAS_MONGODB_VERSIONS)
    backups = r.boolean("atlasBackups")
    retention = r.integer("atlasBackupRetentionDays", 1, 365)
    point_in_time = r.boolean("atlasPointInTime")
    if tier == "M0" and backups:
        r.fail("atlasBackups", r.raw("atlasBackups"), "false with matra-infra:atlasTier M0 "
               "(the shared M0 tier has no cloud backup; use M10 or larger for backups)")
    if tier == "M0" and node_count not in (None, 3):
        r.fail("atlasNodeCount", r.raw("atlasNodeCount"), "3 with matra-infra:atlasTier M0 "
               "(the shared tier is a fixed 3-node replica set)")
    if point_in_time and backups is False:
        r.fail("atlasPointInTime", r.raw("atlasPointInTime"), "false unless "
               "matra-infra:atlasBackups is true (point-in-time restore needs cloud backup)")
    if None in (org_id, tier, node_count, version, backups, retention, point_in_time):
        return None
    return AtlasSettings(org_id=org_id, tier=tier, node_count=node_count,  # type: ignore
                         mongodb_version=version, backups=backups,  # type: ignore[arg-type]
                         backup_retention_days=retention,  # type: ignore[arg-type]
                         point_in_time=point_in_time)  # type: ignore[arg-type]


def _redis(r: _Reader) -> Optional[RedisSettings]:
    mode = r.choice("redisMode", REDIS_MODES)
    r.raw("redisSize")  # a known key even when the mode, which decides its list, is bad
    size = None
    if mode == "managed":
        size = r.string("redisSize", "a managed database size slug for redisMode managed: "
                        f"{', '.join(catalog.DATABASE_SIZES)}",
                        lambda v: v in catalog.DATABASE_SIZES)
    elif mode == "droplet":
        size = r.string("redisSize", "a droplet size slug for redisMode droplet, such as "
                        "s-1vcpu-1gb (components/catalog.py lists them)",
                        lambda v: v in catalog.DROPLET_SIZES)
    node_count = r.integer("redisNodeCount", 1, 3)
    if mode == "droplet" and node_count not in (None, 1):
        r.fail("redisNodeCount", r.raw("redisNodeCount"), "1 with matra-infra:redisMode "
               "droplet (a single cache droplet; use managed for standby nodes)")
    version = r.choice("redisVersion", catalog.VALKEY_VERSIONS)
    if None in (mode, size, node_count, version):
        return None
    return RedisSettings(mode=mode, size=size, node_count=node_count,  # type: ignore
                         version=version)  # type: ignore[arg-type]



def _automation_key(r: _Reader, config: pulumi.Config) -> Optional[AutomationKey]:
    """Both halves of a supplied automation key, or neither (then the program makes one).

    The private half must be stored as a secret; its value is never echoed in an error."""
    public_name, private_name = "automationSshPublicKey", "automationSshPrivateKey"
    public_key = r.string(public_name, "an OpenSSH ed25519 public key line (ssh-ed25519 "
                          "AAAA...)", lambda v: v.startswith("ssh-ed25519 ")
                          and is_ssh_public_key(v), required=False)
    private_key = _secret_set(r, config, private_name)
    public_set = r.raw(public_name) not in (None, "")
    private_set = r.raw(private_name) not in (None, "")
    if public_set and not private_set:
        r.fail(private_name, None, f"the secret private half of {r.key(public_name)} (set "
               f"it with: pulumi config set --secret {r.key(private_name)} < key-file), or "
               "unset both to let the program generate the pair")
    if private_set and not public_set:
        r.fail(public_name, None, f"the public half of the secret {r.key(private_name)}, or "
               "unset both to let the program generate the pair")
    if public_key is None or private_key is None:
        return None
    return AutomationKey(public_key=public_key, private_key=private_key)
