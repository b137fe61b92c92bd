"""The one validating reader of every input document: Problem files (JSON), the API's
documents, scenario files (TOML or YAML).

A :class:`Node` is an object (a JSON object, a TOML table) being read, with the path it
sits at. Its methods read one member each and raise :class:`InputError` naming the full
path and what was expected, e.g. ``orders[3].site.lat: expected a number in [-90, 90],
got 123``. A node built with ``allowed`` refuses any other member at once, naming it
(``orders[0].priorty: unknown field (did you mean priority?); expected one of …``), so a
typo never silently falls back to a default.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from dispatcher.errors import InputError

# Years outside this range are refused, so that adding a horizon (at most 60 days) or a
# commitment (at most 10 years) to a timestamp never leaves the range of datetime. The
# bound holds for the UTC instant as well as for the local time written: every instant
# is stored and handed on in UTC, and must read back. The readers that derive later
# instants (a deadline from received_at, a horizon's end) check those against
# END_OF_RANGE with :func:`check_derived`, so that anything accepted can be planned.
MIN_YEAR, MAX_YEAR = 1970, 9000
START_OF_RANGE = datetime(MIN_YEAR, 1, 1, tzinfo=UTC)
END_OF_RANGE = datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC)  # exclusive
# Ids of orders and engineers (docs/contract.md): they appear in URL paths, so no "/",
# "?", "#", "%" or spaces; at most 200 characters (the database column).
ID_PATTERN = r"^[A-Za-z0-9._:~-]{1,200}$"
_ID = re.compile(ID_PATTERN[1:-1], re.ASCII)
ID_WANTED = "an id of 1 to 200 letters, digits or . _ : ~ -"
# Integers longer than this are not converted (Python refuses beyond 4300 digits anyway).
_MAX_INT_DIGITS = 4000


class HugeInteger:
    """A JSON integer literal too long to convert; rejected where a number is expected."""

    def __init__(self, text: str) -> None:
        self.digits = len(text.lstrip("-"))


def parse_int(text: str) -> int | HugeInteger:
    """``json.loads(..., parse_int=parse_int)``: no integer of thousands of digits."""
    return HugeInteger(text) if len(text) > _MAX_INT_DIGITS else int(text)


def describe(value: Any) -> str:
    """A short rendering of a bad value for an error message."""
    if isinstance(value, HugeInteger):
        return f"an integer of {value.digits} digits"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def join(path: str, inner: str) -> str:
    """``path`` followed by the relative path ``inner`` (``a`` + ``b`` → ``a.b``,
    ``a`` + ``[0].b`` → ``a[0].b``)."""
    if not path:
        return inner
    if not inner:
        return path
    return f"{path}{inner}" if inner.startswith("[") else f"{path}.{inner}"


@contextmanager
def at(path: str) -> Iterator[None]:
    """Prefix any InputError raised inside (e.g. by a domain type's constructor, which
    knows only its own field names) with ``path``."""
    try:
        yield
    except InputError as exc:
        inner = exc.path
        if not path or inner == path or inner.startswith((path + ".", path + "[")):
            raise  # already a full path (raised by a reader of this object)
        raise InputError(join(path, inner), exc.message) from None


def rebase(exc: InputError, prefix: str, new_prefix: str = "") -> InputError:
    """``exc`` with the leading ``prefix`` of its path replaced by ``new_prefix``."""
    path = exc.path
    if path == prefix or path.startswith((prefix + ".", prefix + "[")):
        path = join(new_prefix, path[len(prefix) :].lstrip("."))
    return InputError(path, exc.message)


def unknown_member(key: str, allowed: Collection[str], noun: str = "field") -> str:
    """The message for a member the document does not define, with the closest known
    name when one is close."""
    names = list(allowed)
    close = difflib.get_close_matches(key, names, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"unknown {noun}{hint}; expected one of {', '.join(names)}"


# RFC 3339 date-time: full date, "T" (or "t" or a space), full time with seconds, optional
# fraction of any length, and an offset. Python's fromisoformat accepts much more (week
# dates, basic format, hours only, "+0800", "08:00:00,5"), none of which is the contract.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
# The same without an offset (seconds optional): a local time, which the contract refuses.
_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?", re.ASCII)


def _in_range(parsed: datetime, value: Any, path: str) -> datetime:
    # The local year first: only then is the conversion to UTC sure not to overflow.
    if not MIN_YEAR <= parsed.year <= MAX_YEAR or not (START_OF_RANGE <= parsed < END_OF_RANGE):
        raise InputError(
            path,
            f"expected a datetime between {MIN_YEAR} and {MAX_YEAR} (in UTC too), "
            f"got {describe(value)}",
        )
    return parsed


def check_derived(instant: datetime, later: timedelta, value: Any, path: str, what: str) -> None:
    """Refuse ``instant`` (read from ``value`` at ``path``) when ``instant + later``, an
    instant planning derives from it (``what``), would leave the range of readable
    datetimes: it could be accepted, but never planned."""
    if instant + later >= END_OF_RANGE:
        raise InputError(
            path,
            f"expected a datetime whose {what} is before {MAX_YEAR + 1}-01-01T00:00:00Z, "
            f"got {describe(value)}",
        )


def parse_datetime(value: Any, path: str) -> datetime:
    """Parse an RFC 3339 timestamp that must carry a UTC offset.

    An aware :class:`datetime` (a TOML or YAML file's own timestamp) is taken as it is.
    Fractions beyond microseconds are truncated. Years outside [``MIN_YEAR``,
    ``MAX_YEAR``] are refused, in the local time written and in UTC.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InputError(path, f"expected a datetime with a UTC offset, got {describe(value)}")
        return _in_range(value, value, path)
    if not isinstance(value, str):
        raise InputError(path, f"expected an RFC 3339 datetime string, got {describe(value)}")
    m = _RFC3339.fullmatch(value)
    if m is None:
        if _LOCAL.fullmatch(value):
            raise InputError(
                path,
                f"expected a datetime with a UTC offset (e.g. +08:00 or Z), got {describe(value)}",
            )
        raise InputError(
            path,
            "expected an RFC 3339 datetime with offset like 2026-11-23T08:00:00+08:00, "
            f"got {describe(value)}",
        )
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    micro = int((m.group(7) or "").ljust(6, "0")[:6])
    try:
        if m.group(8):
            tz = UTC
        else:
            off_h, off_m = int(m.group(10)), int(m.group(11))
            if off_h > 23 or off_m > 59:
                raise ValueError("offset must be within -23:59 and +23:59")
            sign = -1 if m.group(9) == "-" else 1
            tz = timezone(sign * timedelta(hours=off_h, minutes=off_m))
        parsed = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError as exc:
        raise InputError(
            path, f"expected an RFC 3339 datetime with offset ({exc}), got {describe(value)}"
        ) from None
    return _in_range(parsed, value, path)


def _integer_wanted(lo: int, hi: int | None) -> str:
    if hi is not None:
        return f"an integer in [{lo}, {hi}]"
    if lo == 1:
        return "a positive integer"
    if lo == 0:
        return "a non-negative integer"
    return f"an integer >= {lo}"


def _number_wanted(lo: float | None, hi: float | None, positive: bool) -> str:
    if positive:
        return "a positive number"
    if lo is not None and hi is not None:
        return f"a number in [{lo:g}, {hi:g}]"
    if lo is not None:
        return f"a number >= {lo:g}"
    return "a number"


class Node:
    """An object being read (``noun`` "object" for JSON, "table" for TOML and YAML).

    ``allowed`` lists its members; any other is refused. ``annotations`` also lets through
    members whose names start with ``_`` or ``$`` (a JSON file's ``_comment``,
    ``$schema``): a file has no other way to carry a note.
    """

    def __init__(
        self,
        data: Any,
        path: str,
        allowed: Collection[str] | None = None,
        *,
        noun: str = "object",
        annotations: bool = False,
    ) -> None:
        if not isinstance(data, dict):
            raise InputError(path, f"expected {_article(noun)}, got {describe(data)}")
        self.data = data
        self.path = path
        self.noun = noun
        if allowed is not None:
            member = "key" if noun == "table" else "field"
            for key in data:
                if key in allowed or (annotations and str(key).startswith(("_", "$"))):
                    continue
                raise InputError(self.sub(str(key)), unknown_member(str(key), allowed, member))

    def sub(self, key: str) -> str:
        return join(self.path, key)

    def has(self, key: str) -> bool:
        """Present and not null (an optional member's ``null`` means absent)."""
        return self.data.get(key) is not None

    def req(self, key: str) -> Any:
        if not self.has(key):
            raise InputError(self.sub(key), "expected a value, got nothing")
        return self.data[key]

    def text(self, key: str, default: str | None = None, required: bool = True) -> Any:
        """A non-empty string; ``default`` (or ``None`` when not ``required``) if absent."""
        if not self.has(key):
            if default is not None or not required:
                return default
            self.req(key)
        value = self.data[key]
        if not isinstance(value, str) or not value:
            raise InputError(self.sub(key), f"expected a non-empty string, got {describe(value)}")
        return value

    def choice(self, key: str, options: Collection[str], default: str | None = None) -> str:
        value: str = self.text(key, default)
        if value not in options:
            raise InputError(
                self.sub(key), f"expected one of {', '.join(options)}, got {describe(value)}"
            )
        return value

    def num(
        self,
        key: str,
        default: float | None = None,
        lo: float | None = None,
        hi: float | None = None,
        positive: bool = False,
    ) -> Any:
        """A finite number within the bounds, as written (an int stays an int)."""
        if not self.has(key):
            if default is not None:
                return default
            self.req(key)
        value = self.data[key]
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
        ok = ok and (lo is None or value >= lo) and (hi is None or value <= hi)
        ok = ok and (not positive or value > 0)
        if not ok:
            want = _number_wanted(lo, hi, positive)
            raise InputError(self.sub(key), f"expected {want}, got {describe(value)}")
        return value

    def real(
        self,
        key: str,
        default: float | None = None,
        lo: float | None = None,
        hi: float | None = None,
        positive: bool = False,
    ) -> float:
        """Like :meth:`num`, as a float."""
        return float(self.num(key, default, lo, hi, positive))

    def integer(
        self, key: str, default: int | None = None, lo: int = 0, hi: int | None = None
    ) -> int:
        """An integer in [``lo``, ``hi``]; ``2.0`` counts as 2."""
        if not self.has(key):
            if default is not None:
                return default
            self.req(key)
        value = self.data[key]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or value < lo
            or (hi is not None and value > hi)
        ):
            want = _integer_wanted(lo, hi)
            raise InputError(self.sub(key), f"expected {want}, got {describe(value)}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        if not self.has(key):
            return default
        value = self.data[key]
        if not isinstance(value, bool):
            raise InputError(self.sub(key), f"expected true or false, got {describe(value)}")
        return value

    def instant(self, key: str) -> datetime:
        return parse_datetime(self.req(key), self.sub(key))

    def maybe_instant(self, key: str) -> datetime | None:
        return parse_datetime(self.data[key], self.sub(key)) if self.has(key) else None

    def ident(self, key: str) -> str:
        """An order or engineer id: :data:`ID_PATTERN`."""
        value = self.text(key)
        if not _ID.fullmatch(value):
            raise InputError(self.sub(key), f"expected {ID_WANTED}, got {describe(value)}")
        return value

    def items(self, key: str, max_items: int | None = None) -> list[tuple[str, Any]]:
        """The members of a list, each with its path; ``[]`` if absent; at most
        ``max_items`` of them."""
        if not self.has(key):
            return []
        value = self.data[key]
        check_list(value, self.sub(key), max_items)
        return [(f"{self.sub(key)}[{i}]", item) for i, item in enumerate(value)]

    def req_items(self, key: str) -> list[tuple[str, Any]]:
        """Like :meth:`items`, but the list must be there (``[]`` is fine)."""
        if not self.has(key):
            raise InputError(self.sub(key), "expected a list, got nothing")
        return self.items(key)

    def strings(
        self,
        key: str,
        options: Collection[str] | None = None,
        lone: bool = False,
        max_items: int | None = None,
    ) -> tuple[str, ...]:
        """A list of non-empty strings (from ``options`` if given); ``lone`` also takes a
        single string for a list of one."""
        value = self.data.get(key)
        if lone and isinstance(value, str):
            items = [(f"{self.sub(key)}[0]", value)]
        else:
            items = self.items(key, max_items)
        out = []
        for path, item in items:
            if not isinstance(item, str) or not item:
                raise InputError(path, f"expected a non-empty string, got {describe(item)}")
            if options is not None and item not in options:
                raise InputError(
                    path, f"expected one of {', '.join(options)}, got {describe(item)}"
                )
            out.append(item)
        return tuple(out)

    def obj(self, key: str, allowed: Collection[str] | None = None, optional: bool = False) -> Node:
        """A member object; an ``optional`` one reads as empty when absent."""
        if optional and not self.has(key):
            return Node({}, self.sub(key), allowed, noun=self.noun)
        return Node(self.req(key), self.sub(key), allowed, noun=self.noun)


def check_list(value: Any, path: str, max_items: int | None = None) -> None:
    """``value`` must be a list of at most ``max_items`` members."""
    if not isinstance(value, list):
        raise InputError(path, f"expected a list, got {describe(value)}")
    if max_items is not None and len(value) > max_items:
        raise InputError(
            path, f"expected a list of at most {max_items} items, got {len(value)} items"
        )


def _article(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


__all__ = [
    "END_OF_RANGE",
    "ID_PATTERN",
    "ID_WANTED",
    "MAX_YEAR",
    "MIN_YEAR",
    "START_OF_RANGE",
    "HugeInteger",
    "Node",
    "at",
    "check_derived",
    "check_list",
    "describe",
    "join",
    "parse_datetime",
    "parse_int",
    "rebase",
    "unknown_member",
]
