"""What the Kubernetes API server validates, for the values the config passes through.

Each check returns None when the API would accept the value, else the reason it would not, so
the config can refuse it at the door with the key named instead of failing half-way through
`pulumi up`. Sources:
- label keys and values, taint keys: k8s.io/apimachinery/pkg/util/validation (IsQualifiedName,
  IsValidLabelValue), used for taints by k8s.io/kubernetes/pkg/apis/core/validation
  (validateNodeTaints); docs: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set
- CronJob schedules: k8s.io/kubernetes/pkg/apis/batch/validation parses them with
  github.com/robfig/cron/v3 ParseStandard (5 fields; descriptors); TZ=/CRON_TZ= in the schedule is
  refused since 1.27 ("use spec.timeZone"); timeZone must load as an IANA zone (time.LoadLocation).
"""

from __future__ import annotations

import re
import zoneinfo

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
MAX_NAME = 63
MAX_PREFIX = 253


def qualified_name_problem(key: str) -> str | None:
    """A label or taint key: `[prefix/]name`, name 1-63 alphanumerics with '-_.' inside, prefix a
    DNS subdomain of at most 253 characters."""
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return "the prefix before '/' is empty"
    if prefix and (len(prefix) > MAX_PREFIX or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return f"prefix {prefix!r} is not a DNS subdomain of at most {MAX_PREFIX} characters"
    if not name or len(name) > MAX_NAME or not re.fullmatch(_NAME, name):
        return (
            f"name {name!r} must be 1-{MAX_NAME} letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    return None


def label_value_problem(value: str) -> str | None:
    if value and (len(value) > MAX_NAME or not re.fullmatch(_NAME, value)):
        return (
            f"value {value!r} must be at most {MAX_NAME} letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    return None


def labels_problem(labels: dict[str, str]) -> str | None:
    for key, value in labels.items():
        problem = qualified_name_problem(key)
        if problem is None:
            problem = label_value_problem(value)
        if problem is not None:
            return f"label {key!r}: {problem}"
    return None


_QUANTITY_SUFFIX = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
}


def quantity(value: str) -> float:
    """A Kubernetes quantity ("500m", "8Gi", "1.5") as a number (cores, bytes)."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)", value)
    if not match or match.group(2) not in _QUANTITY_SUFFIX:
        raise ValueError(f"{value!r} is not a Kubernetes quantity")
    return float(match.group(1)) * _QUANTITY_SUFFIX[match.group(2)]


# Namespaces a team may not take: Kubernetes' own, and those the managed services and the
# platform's add-ons install into. Kubernetes reserves the kube- prefix ("Namespaces" concept
# page: "Avoid creating namespaces with the prefix kube-"); GKE: gke-managed-*, gmp-system,
# gmp-public (Managed Service for Prometheus); AKS: app-routing-system, aks-command; the
# platform's own add-ons: mlplatform-* (gateway, monitoring), azure-alb-system (AGC).
RESERVED_NAMESPACES = frozenset(
    {"default", "gmp-system", "gmp-public", "app-routing-system", "aks-command", "azure-alb-system"}
)
RESERVED_NAMESPACE_PREFIXES = ("kube-", "gke-", "mlplatform-")


def reserved_namespace_problem(name: str) -> str | None:
    if name in RESERVED_NAMESPACES or name.startswith(RESERVED_NAMESPACE_PREFIXES):
        return (
            f"namespace {name!r} is a system namespace of Kubernetes or the cloud: choose another team name"
        )
    return None


def time_zone_problem(name: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"{name!r} is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)"
    return None


MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# robfig/cron/v3 ParseStandard: minute, hour, day of month, month, day of week.
_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    (
        "month",
        1,
        12,
        {month: i + 1 for i, month in enumerate(MONTHS)},
    ),
    ("day of week", 0, 6, {day: i for i, day in enumerate(WEEKDAYS)}),
)
DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def cron_problem(schedule: str) -> str | None:
    if re.match(r"\s*(CRON_)?TZ=", schedule):
        return "a time zone in the schedule is refused by Kubernetes: set timeZone instead"
    if schedule.startswith("@"):
        return None if schedule in DESCRIPTORS else f"{schedule!r} is not one of {', '.join(DESCRIPTORS)}"
    fields = schedule.split()
    if len(fields) != len(_FIELDS):
        return f"a schedule has 5 fields (minute hour day-of-month month day-of-week), not {len(fields)}"
    for text, (what, low, high, names) in zip(fields, _FIELDS, strict=True):
        for part in text.split(","):
            problem = _cron_part_problem(part, low, high, names)
            if problem:
                return f"{what} field {text!r}: {problem}"
    return None


def _cron_part_problem(part: str, low: int, high: int, names: dict[str, int]) -> str | None:
    range_text, slash, step = part.partition("/")
    if slash and (not step.isdigit() or int(step) == 0):
        return f"step {step!r} is not a positive number"
    if range_text in ("*", "?"):
        return None
    bounds = range_text.split("-")
    if len(bounds) > 2 or not all(bounds):
        return f"{part!r} is not a value, a range a-b or '*'"
    values = []
    for bound in bounds:
        value = names.get(bound.lower()) if not bound.isdigit() else int(bound)
        if value is None:
            return f"{bound!r} is not a number" + (f" or one of {', '.join(names)}" if names else "")
        if not low <= value <= high:
            return f"{value} is outside {low}-{high}"
        values.append(value)
    if len(values) == 2 and values[0] > values[1]:
        return f"range {range_text!r} runs backwards"
    return None
