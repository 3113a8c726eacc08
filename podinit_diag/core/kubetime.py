"""Kubernetes timestamps and the way kubectl prints ages.

Standard library only. ``human_duration`` follows apimachinery's
``duration.HumanDuration`` so that ages in our reports read exactly like the
AGE and RESTARTS columns of ``kubectl get``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from podinit_diag.core.lazyre import lazy

_RFC3339 = lazy(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_time(value: object) -> datetime | None:
    """Parse an RFC 3339 timestamp as the API server writes it; None when absent or malformed.

    ``datetime.fromisoformat`` alone rejects nanosecond fractions (MicroTime in
    events carries microseconds, but other producers write nanoseconds).
    """
    if not isinstance(value, str):
        return None
    if len(value) in (20, 27) and value[-1] == "Z" and value[10] == "T" and value[4] == "-":
        # The API server's two shapes (metav1.Time, MicroTime): the C parser handles them.
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    m = _RFC3339.match(value.strip())
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7), m.group(8)
    micros = int((frac[1:] + "000000")[:6]) if frac else 0
    try:
        if zone in ("Z", "z"):
            tz = UTC
        else:
            sign = 1 if zone[0] == "+" else -1
            tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
        return datetime(year, month, day, hour, minute, second, micros, tzinfo=tz).astimezone(UTC)
    except (ValueError, OverflowError):  # out-of-range fields, offsets >= 24h, year 0 in UTC
        return None


# Runtimes write the epoch for a time they never had (a container that failed to start,
# StartError, has startedAt 1970-01-01T00:00:00Z): such a time is unknown, not 54 years.
# A day of slack, for a runtime that writes the epoch in its own time zone.
_EPOCH = datetime(1970, 1, 2, tzinfo=UTC)


def known_time(t: datetime | None) -> datetime | None:
    """``t``, or None when it is unset or the runtime's epoch placeholder."""
    return t if t is not None and t > _EPOCH else None


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix, as the API server writes metav1.Time."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # %-formatting: under half the cost of strftime or an f-string (a scan writes several
    # times per pod), and a four-digit year where glibc's %Y writes Go's zero time "1-01-01".
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (  # noqa: UP031
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
    )


def human_duration(d: timedelta) -> str:
    """Port of apimachinery ``duration.HumanDuration`` (what kubectl prints as ages)."""
    seconds = int(d.total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def translate_timestamp_since(then: datetime | None, now: datetime) -> str:
    """kubectl's ``translateTimestampSince``: ``<unknown>`` for a zero time."""
    if then is None:
        return "<unknown>"
    return human_duration(now - then)


_DURATION = lazy(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(text: str) -> timedelta:
    """Parse a Go-style duration (``90s``, ``5m``, ``1h30m``); a bare number means seconds.

    Raises ValueError with a readable message on anything else, and on a duration past
    what :class:`~datetime.timedelta` holds (about 2.7 million years).
    """
    raw = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        return _seconds(float(raw), text)
    pos, total = 0, 0.0
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    for m in _DURATION.finditer(raw):
        if m.start() != pos:
            break
        total += float(m.group(1)) * scale[m.group(2)]
        pos = m.end()
    if pos != len(raw) or not raw:
        raise ValueError(f"invalid duration {text!r} (use e.g. 90s, 5m, 1h30m)")
    return _seconds(total, text)


def _seconds(seconds: float, text: str) -> timedelta:
    try:
        return timedelta(seconds=seconds)
    except OverflowError:  # over 999999999 days, or a float that overflowed to infinity
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ValueError(f"duration too large: {shown!r} (at most 999999999 days)") from None
