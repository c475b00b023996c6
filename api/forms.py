"""Reading HTML form posts, and collecting errors the NHS.UK way (a summary linking to fields).

Form posts arrive as flat dicts from Litestar (a repeated name becomes a list). Nothing
here saves anything: pages validate first and only then call the services.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Iterable

from litestar.enums import RequestEncodingType
from litestar.params import Body

from api.input_guard import date_bounds

FormData = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]

LONG_TEXT = 4000
TITLE = 200
SHORT = 200
STEP_TEXT = 1000


def text(data: dict[str, Any], name: str) -> str:
    """The submitted value as typed (a repeated field keeps its last value)."""
    value = data.get(name)
    if isinstance(value, list):
        value = value[-1] if value else ""
    if value is None:
        return ""
    return str(value).replace("\r\n", "\n")


def integer(data: dict[str, Any], name: str) -> int | None:
    raw = text(data, name).strip()
    # isdigit() alone accepts "²" and other digits int() refuses (a ValueError, a 500).
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        return None
    return int(raw)


class Errors:
    """Field errors in page order. `anchor` is the id the summary links to (default: the field)."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, str]] = {}

    def add(self, field: str, message: str, anchor: str | None = None) -> None:
        self._items.setdefault(field, (message, anchor or field))

    def get(self, field: str) -> str | None:
        item = self._items.get(field)
        return item[0] if item else None

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, field: str) -> bool:
        return field in self._items

    def summary(self) -> list[dict[str, str]]:
        return [{"text": message, "href": f"#{anchor}"} for message, anchor in self._items.values()]

    def check_length(self, data: dict[str, Any], name: str, limit: int, what: str) -> None:
        if len(text(data, name)) > limit:
            self.add(name, f"{what} must be {limit:,} characters or fewer.")


def date_parts(data: dict[str, Any], prefix: str) -> dict[str, str]:
    """Day, month and year from an NHS.UK date input named prefix[day], prefix[month], prefix[year]."""
    return {part: text(data, f"{prefix}[{part}]").strip() for part in ("day", "month", "year")}


def parse_date(parts: dict[str, str], what: str, errors: Errors, field: str, rule: str | None = None,
               today: dt.date | None = None) -> str | None:
    """A date from NHS.UK date input parts: ISO string, None when all are blank, or an error.

    Bounded like the API (api.input_guard.DATE_BOUNDS): `rule` names the bounds, by default
    the field's own name after any prefix ("moment-0-date" → "date")."""
    day, month, year = parts["day"], parts["month"], parts["year"]
    if not (day or month or year):
        return None
    missing = [name for name, value in (("day", day), ("month", month), ("year", year)) if not value]
    if missing:
        errors.add(field, f"{what} must include a {' and '.join(missing)}.", f"{field}-{missing[0]}")
        return None
    try:
        value = dt.date(int(year), int(month), int(day))
    except (ValueError, OverflowError):  # 99999999999999999999 overflows before it is out of range
        errors.add(field, f"{what} must be a real date, for example 15 3 2027.", f"{field}-day")
        return None
    if not 1900 <= value.year <= 2200:  # a real date, but not one anyone here means
        errors.add(field, f"{what} must be {'in 1900 or later' if value.year < 1900 else 'before 2201'}.",
                   f"{field}-year")
        return None
    if (bounds := date_bounds(rule or re.split(r"[-.]", field)[-1], today)) is not None:
        earliest, latest, words = bounds
        if not earliest <= value <= latest:
            errors.add(field, f"{what} must be {words}.", f"{field}-year")
            return None
    return value.isoformat()


def date_hint(rule: str, today: dt.date | None = None) -> str:
    """The bounds of a date field in words for its hint, e.g. "Within two years of today"."""
    bounds = date_bounds(rule, today)
    return bounds[2][0].upper() + bounds[2][1:] if bounds else ""


def iso_to_parts(value: Any) -> dict[str, str]:
    if not value:
        return {"day": "", "month": "", "year": ""}
    try:
        d = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return {"day": "", "month": "", "year": ""}
    return {"day": str(d.day), "month": str(d.month), "year": str(d.year)}


def field_of(service_field: str) -> str:
    """A service error field ('about_me.strengths') as the page's field id ('strengths')."""
    return service_field.rsplit(".", 1)[-1]


def changed_fields(typed: dict[str, Any], base: dict[str, Any] | None, names: Iterable[str]) -> set[str]:
    """Which fields the person changed from the version their form started from (all, if unknown)."""
    if base is None:
        return {n for n in names if typed.get(n) not in (None, "", [], {})}
    return {n for n in names if typed.get(n) != base.get(n)}


def merged_values(typed: dict[str, Any], base: dict[str, Any] | None, current: dict[str, Any],
                  names: Iterable[str]) -> tuple[dict[str, Any], set[str], set[str]]:
    """Values for a merge form after someone else saved first.

    Fields this person changed keep what they typed; every other field shows what is saved
    now, so saving the merge form changes only what this person meant to change.
    Returns (values, mine: fields they changed, clashes: fields both people changed differently).
    """
    names = list(names)
    mine = changed_fields(typed, base, names)
    values = {n: (typed.get(n) if n in mine else current.get(n)) for n in names}
    theirs = {n for n in names if base is not None and current.get(n) != base.get(n)}
    clashes = {n for n in mine & theirs if typed.get(n) != current.get(n)} if base is not None else {
        n for n in mine if typed.get(n) != current.get(n) and current.get(n) not in (None, "", [], {})}
    return values, mine, clashes
