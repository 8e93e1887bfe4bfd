"""The backup env file (/etc/dream-central-storage/backup.env): its variables, their kinds, how values
are quoted, and validation. Messages name the variable and never contain a secret value.

The format is the one the runbook shows (NAME="value"), written so that `source`-ing it in bash is safe:
values are double-quoted with backslash, double quote, dollar and backquote escaped.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# The runbook's ten variables, in the runbook's order (a contract: names verbatim).
RUNBOOK_VARIABLES = (
    "MINIO_SOURCE_ENDPOINT", "MINIO_SOURCE_ACCESS_KEY", "MINIO_SOURCE_SECRET_KEY",
    "BACKUP_TARGET_ENDPOINT", "BACKUP_TARGET_ACCESS_KEY", "BACKUP_TARGET_SECRET_KEY",
    "BACKUP_TARGET_BUCKET", "MINIO_BACKUP_BUCKETS", "MINIO_BACKUP_LOG", "MC_PATH",
)

# Kind of every variable; the variables after the runbook's ten are optional extensions.
KINDS = {
    "MINIO_SOURCE_ENDPOINT": "endpoint",
    "MINIO_SOURCE_ACCESS_KEY": "key",
    "MINIO_SOURCE_SECRET_KEY": "secret",
    "BACKUP_TARGET_ENDPOINT": "endpoint",
    "BACKUP_TARGET_ACCESS_KEY": "key",
    "BACKUP_TARGET_SECRET_KEY": "secret",
    "BACKUP_TARGET_BUCKET": "bucket",
    "MINIO_BACKUP_BUCKETS": "bucket_list",
    "MINIO_BACKUP_LOG": "abspath",
    "MC_PATH": "abspath",
    "BACKUP_ENGINE": "engine",
    "RCLONE_PATH": "abspath",
    "BACKUP_TARGET_PREFIX": "prefix",
    "BACKUP_REMOVE": "bool",
    "BACKUP_REQUIRE_VERSIONING": "bool",
    "BACKUP_TIMEOUT": "duration",
    "BACKUP_BANDWIDTH": "bandwidth",
    "BACKUP_CA_FILE": "abspath_optional",
    "BACKUP_METRICS_FILE": "abspath_optional",
    "BACKUP_HEALTHCHECK_URL": "url_optional",
    "BACKUP_LOCK_FILE": "abspath",
    "RESTORE_DRILL_LOG": "abspath",
    "TRASH_RETENTION_DAYS": "positive_int",
    "MINIO_SOURCE_REGION": "region",
    "BACKUP_TARGET_REGION": "region",
    "BACKUP_S3_PROVIDER": "s3_provider",
    "BACKUP_LOCK_STALE_AFTER": "duration_optional",
    "BACKUP_VERIFY_SLICES": "positive_int",
    "BACKUP_REHEARSAL_BUCKET": "bucket",
    "BACKUP_RTO_BUDGET_HOURS": "positive_int",
    "BACKUP_GUARD": "guard",
    "BACKUP_GUARD_MIN_OBJECTS": "count",
    "BACKUP_STATE_DIR": "abspath",
    # The scheduled rehearsal's key: it can write the scratch bucket alone (docs/security.md).
    "BACKUP_REHEARSAL_ACCESS_KEY": "key_optional",
    "BACKUP_REHEARSAL_SECRET_KEY": "secret_optional",
}

# The S3 providers rclone 1.60 knows (`rclone help backend s3`, option --s3-provider). The mc engine
# ignores the provider (mc detects the server's flavour itself).
S3_PROVIDERS = (
    "AWS", "Alibaba", "Ceph", "ChinaMobile", "Cloudflare", "ArvanCloud", "DigitalOcean", "Dreamhost",
    "HuaweiOBS", "IBMCOS", "IDrive", "IONOS", "LyveCloud", "Minio", "Netease", "RackCorp", "Scaleway",
    "SeaweedFS", "StackPath", "Storj", "TencentCOS", "Wasabi", "Qiniu", "Other",
)
# The healthcheck URL carries its check's token (hc-ping.com/<uuid>): whoever has it can ping success.
SECRET_VARIABLES = frozenset([*(name for name, kind in KINDS.items() if kind in ("secret", "secret_optional")),
                              "BACKUP_HEALTHCHECK_URL"])
MASK = "********"

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4 = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_DURATION = re.compile(r"^\d+(\.\d+)?[smhd]?$")
# A rate always carries its unit: a bare number means bytes/s to mc but KiB/s to rclone.
_BANDWIDTH = re.compile(r"^(\d+(?:\.\d+)?)(B|K|KB|M|MB|G|GB|KIB|MIB|GIB)(?:/S)?$")
_BANDWIDTH_UNITS = {"B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9, "GB": 10**9,
                    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
BANDWIDTH_FORMS = ("a number with a unit: KiB, MiB, GiB (1024-based) or K, M, G (1000-based), "
                   "optionally followed by /s, such as 512KiB or 20M")
_PERCENT = re.compile(r"^[0-9]{1,3}(\.[0-9]+)?$")
_BOOLS = {"true", "false", "yes", "no", "1", "0", "on", "off"}
_PREFIX_PART = re.compile(r"^[A-Za-z0-9._-]+$")
# AWS-style names (us-east-1), and the other spellings S3 services use (fr-par, auto, default).
_REGION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def bucket_error(name):
    """Why ``name`` is not a valid S3 bucket name, or None."""
    if not _BUCKET.match(name):
        return "must be 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit"
    if ".." in name or ".-" in name or "-." in name:
        return "must not contain '..', '.-' or '-.'"
    if _IPV4.match(name):
        return "must not look like an IP address"
    return None


def guard_thresholds(value):
    """BACKUP_GUARD (``*=25,trash=off``) as {bucket or '*': percent, or None for off}; ValueError names
    what is wrong. A percent is a number from 0 to 100 of the objects in the bucket's last backup."""
    thresholds = {}
    for entry in value.split(","):
        name, equals, setting = (part.strip() for part in entry.partition("="))
        if not equals or not name or not setting:
            raise ValueError(f"entry '{entry.strip()}' is not BUCKET=PERCENT or BUCKET=off")
        if name != "*" and bucket_error(name):
            raise ValueError(f"entry '{entry.strip()}': '{name}' is neither '*' nor a bucket name")
        if name in thresholds:
            raise ValueError(f"names '{name}' more than once")
        if setting == "off":
            thresholds[name] = None
        elif _PERCENT.match(setting) and float(setting) <= 100:
            thresholds[name] = float(setting)
        else:
            raise ValueError(f"entry '{entry.strip()}': '{setting}' is neither a percent from 0 to 100 nor off")
    return thresholds


def bandwidth_bytes(value):
    """Bytes per second of a BACKUP_BANDWIDTH value (rounded down), or None when it is not one."""
    match = _BANDWIDTH.match(value.strip().upper())
    if not match:
        return None
    whole, _point, fraction = match.group(1).partition(".")
    unit = _BANDWIDTH_UNITS[match.group(2)]
    # Integer arithmetic: 1.5M is exactly 1500000, with no float rounding on the way.
    return (int(whole + fraction) * unit) // (10 ** len(fraction))


def _endpoint_error(value, optional_path=False):
    try:
        parts = urlsplit(value)
        _port = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host"
    if parts.username or parts.password or "@" in parts.netloc:
        return "must not contain credentials (user:password@); use the key variables"
    if not optional_path and (parts.path not in ("", "/") or parts.query or parts.fragment):
        return "must have no path, query or fragment (scheme://host[:port] only)"
    return None


def value_error(name, value, engine="mc"):
    """Why ``value`` is not valid for variable ``name``, or None. Never includes the value of a secret."""
    return _kind_error(KINDS[name], value, engine)


def _kind_error(kind, value, engine="mc"):
    # Not only newline and NUL: the file is read with str.splitlines(), which also breaks a line at
    # \r, \f, \v, \x1c-\x1e, \x85, U+2028 and U+2029. isprintable() refuses all of them, tabs and the
    # other invisible characters too. The message never shows the value: it may be a secret.
    if not value.isprintable():
        return ("must not contain control or other non-printable characters (such as newline, carriage "
                "return, tab, form feed, NUL or U+2028)")
    if kind == "endpoint":
        return _endpoint_error(value)
    if kind in ("key_optional", "secret_optional"):
        return None if not value else _kind_error(kind.removesuffix("_optional"), value, engine)
    if kind in ("key", "secret"):
        if not value:
            return "must not be empty"
        if kind == "secret" and engine == "mc" and ":" in value:
            return ("contains ':', which mc reads as SECRET:SESSION_TOKEN in MC_HOST_*; "
                    "rotate the secret or use BACKUP_ENGINE=rclone")
        if kind == "key" and engine == "mc" and ":" in value:
            return ("contains ':', which mc reads as the end of the access key in MC_HOST_* "
                    "(ACCESS:SECRET[:SESSION_TOKEN]); use another access key or BACKUP_ENGINE=rclone")
        return None
    if kind == "bucket":
        reason = bucket_error(value)
        return None if reason is None else f"'{value}' {reason}"
    if kind == "bucket_list":
        names = [n.strip() for n in value.split(",")]
        if not value.strip() or "" in names:
            return "must be a comma-separated list of bucket names without empty entries"
        for n in names:
            reason = bucket_error(n)
            if reason:
                return f"entry '{n}' {reason}"
        if len(set(names)) != len(names):
            return "lists a bucket more than once"
        return None
    if kind in ("abspath", "abspath_optional"):
        if not value and kind == "abspath_optional":
            return None
        return None if value.startswith("/") else "must be an absolute path"
    if kind == "engine":
        return None if value in ("mc", "rclone") else "must be 'mc' or 'rclone'"
    if kind == "prefix":
        if not value:
            return None
        parts = value.split("/")
        if any(p in ("", ".", "..") or not _PREFIX_PART.match(p) for p in parts):
            return "must be path segments of A-Z a-z 0-9 . _ - without leading, trailing or double '/'"
        return None
    if kind == "bool":
        return None if value.lower() in _BOOLS else "must be true or false"
    if kind == "duration":
        return None if _DURATION.match(value) and float(value.rstrip("smhd")) > 0 \
            else "must be a positive duration such as 90s, 30m, 6h or 1d"
    if kind == "duration_optional":
        return None if not value else _kind_error("duration", value)
    if kind == "region":
        return None if _REGION.match(value) else \
            "must be a region name such as us-east-1 (letters, digits, '.', '_' and '-')"
    if kind == "s3_provider":
        return None if value in S3_PROVIDERS else "must be one of " + ", ".join(S3_PROVIDERS)
    if kind == "bandwidth":
        if not value:
            return None
        rate = bandwidth_bytes(value)
        if rate is None:
            return "must be bytes per second as " + BANDWIDTH_FORMS + " (a bare number is ambiguous)"
        return None if rate >= 1 else "must be at least 1 byte per second"
    if kind == "url_optional":
        return None if not value else _endpoint_error(value, optional_path=True)
    if kind == "guard":
        try:
            guard_thresholds(value)
        except ValueError as exc:
            return f"{exc} (expected comma-separated BUCKET=PERCENT or BUCKET=off, '*' for every other bucket, " \
                "such as *=25,trash=off)"
        return None
    if kind == "count":
        return None if re.match(r"^[0-9]{1,12}$", value) else "must be a whole number (0 or more)"
    if kind == "positive_int":
        return None if value.isdigit() and int(value) >= 1 else "must be a whole number of at least 1"
    raise AssertionError(f"unknown kind {kind}")


def validate(variables):
    """Every problem with a complete set of variables, as 'NAME: reason' strings."""
    errors = []
    for name in sorted(set(variables) - set(KINDS)):
        errors.append("{}: unknown variable (known: {})".format(name, ", ".join(KINDS)))
    for name in RUNBOOK_VARIABLES:
        if name not in variables:
            errors.append(f"{name}: required by the runbook but missing")
    engine = variables.get("BACKUP_ENGINE", "mc")
    for name in KINDS:
        if name in variables:
            reason = value_error(name, variables[name], engine)
            if reason:
                errors.append(f"{name}: {reason}")
    return errors


def quote(value):
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")
    return f'"{escaped}"'


def render(variables, header):
    """The file's text: the header comment, the runbook's variables in its order, then extensions."""
    order = [n for n in KINDS if n in variables]
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines += [f"{name}={quote(variables[name])}" for name in order]
    return "\n".join(lines) + "\n"


# A value is double-quoted (with backslash escapes) or bare without quotes or spaces.
_LINE = re.compile(r"""^([A-Za-z_][A-Za-z0-9_]*)=(?:"((?:[^"\\]|\\.)*)"|([^"'\s]\S*)?)\s*$""")


def parse(text):
    """NAME -> value of an env file in the format above (also unquoted values); ignores comments."""
    result = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line.removeprefix("export "))
        if not match:
            continue
        quoted, bare = match.group(2), match.group(3)
        result[match.group(1)] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else (bare or "")
    return result


def masked(variables):
    """A copy with secret values replaced, for diffs and results."""
    return {k: (MASK if k in SECRET_VARIABLES else v) for k, v in variables.items()}
