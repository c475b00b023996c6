"""Small pure helpers for showing a plan to people: dates, whose words, agreement, progress chart.

Nothing here touches the database or the web; the page templates call these as filters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable

from careplans import vocab

try:  # UK services show UK local time; fall back to UTC where no time zone data is installed.
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        LOCAL_TZ: dt.tzinfo = ZoneInfo("Europe/London")
    except ZoneInfoNotFoundError:  # pragma: no cover - depends on the machine
        LOCAL_TZ = dt.timezone.utc
except ImportError:  # pragma: no cover
    LOCAL_TZ = dt.timezone.utc


# --- dates ---------------------------------------------------------------------------

def parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def format_date(value: Any) -> str:
    """'1 March 2027'; '' when there is no date."""
    d = parse_date(value)
    if d is None:
        return ""
    return f"{d.day} {d.strftime('%B %Y')}"


def short_date(value: Any) -> str:
    """'1 Mar' for chart labels."""
    d = parse_date(value)
    return f"{d.day} {d.strftime('%b')}" if d else ""


def format_datetime(value: Any) -> str:
    """'1 March 2027 at 2:05pm', in UK time."""
    if not value:
        return ""
    try:
        at = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    at = at.astimezone(LOCAL_TZ)
    hour = at.hour % 12 or 12
    return f"{at.day} {at.strftime('%B %Y')} at {hour}:{at.minute:02d}{'am' if at.hour < 12 else 'pm'}"


# --- words -------------------------------------------------------------------------------

def area_words(code: Any) -> str:
    return vocab.GOAL_AREAS.words(code)


def status_words(code: Any) -> str:
    return vocab.GOAL_STATUSES.words(code)


def agreement_words(state: Any) -> str:
    return vocab.AGREEMENT_STATES.words(state)


def short_fingerprint(value: Any, length: int = 16) -> str:
    """The first characters of a fingerprint in groups of four, easy to read out and compare."""
    text = str(value or "")[:length]
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def possessive(name: str) -> str:
    name = (name or "").strip() or "the client"
    return f"{name}’" if name.endswith("s") else f"{name}’s"


ROLE_WORDS = {"keyworker": "keyworker", "clinician": "clinician", "admin": "administrator", "client": "client"}


@dataclass(frozen=True)
class People:
    """Who is looking, and whose plan it is: enough to say whose words a text is in."""

    viewer_role: str
    viewer_name: str
    client_name: str
    party: str = ""  # "client" or "keyworker" when the viewer signs the plan as that party (policy.signs_as)

    @property
    def is_client(self) -> bool:
        return self.viewer_role == "client"


def voice_label(value: Any, people: People) -> str:
    """Whose words a voiced text is, from the viewer's point of view.

    'In your words' (the client reading their own words), "In Jordan’s words" (anyone
    else reading them), 'Your note (keyworker)' or "Keyworker’s note: Sam Okafor".
    """
    if not isinstance(value, dict):
        return ""
    voice = value.get("voice")
    if voice == "client":
        return "In your words" if people.is_client else f"In {possessive(people.client_name)} words"
    role = value.get("by_role") or "worker"
    role_word = ROLE_WORDS.get(role, "worker")
    by = value.get("by") or ""
    if people.viewer_role == role and by == people.viewer_name:
        return f"Your note ({role_word})"
    return f"{role_word.capitalize()}’s note: {by}" if by else f"{role_word.capitalize()}’s note"


def text_of(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("text") or "")
    return "" if value is None else str(value)


# --- agreement ---------------------------------------------------------------------------

def my_signature(agreement: dict[str, Any], viewer_role: str) -> int | None:
    if viewer_role == "client":
        return agreement.get("client_signed_version")
    if viewer_role == "keyworker":
        return agreement.get("keyworker_signed_version")
    return None


def changed_since_i_agreed(agreement: dict[str, Any], viewer_role: str) -> bool:
    signed = my_signature(agreement, viewer_role)
    return signed is not None and signed != agreement.get("current_version")


def last_signed_by_role(signatures: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The latest signature of each role ({'client': {...}, 'keyworker': {...}})."""
    latest: dict[str, dict[str, Any]] = {}
    for s in signatures:
        latest[s["role"]] = s
    return latest


# --- progress chart ------------------------------------------------------------------------

@dataclass
class ChartPoint:
    x: float
    y: float
    rating: int
    date_label: str
    long_date: str
    show_date: bool


@dataclass
class ProgressChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    points: list[ChartPoint] = field(default_factory=list)
    gridlines: list[tuple[float, int]] = field(default_factory=list)  # (y, rating)

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def description(self) -> str:
        if not self.points:
            return "No check-ins yet."
        parts = [f"{p.rating} out of 10 on {p.long_date}" for p in self.points]
        return "Ratings over time: " + "; ".join(parts) + "."


def progress_chart(check_ins: list[dict[str, Any]], width: int = 360, height: int = 220) -> ProgressChart:
    """Geometry for an SVG line chart of 0–10 ratings in the order they were recorded.

    Points are evenly spaced (one per check-in) so that several check-ins on one day stay
    readable; each point carries its rating as a text label, so the chart never relies on
    colour, and the page shows the same numbers as a table.
    """
    left, right, top, bottom = 34, 14, 24, 40
    pad = 24  # keeps the first and last date labels inside the picture
    chart = ProgressChart(width=width, height=height, left=left, right=right, top=top, bottom=bottom)
    plot_h = height - top - bottom
    plot_w = width - left - right
    for rating in range(0, 11, 2):
        chart.gridlines.append((top + plot_h * (1 - rating / 10), rating))
    n = len(check_ins)
    if n == 0:
        return chart
    every = max(1, -(-n // 5))  # at most about five date labels
    for i, ci in enumerate(check_ins):
        rating = max(0, min(10, int(ci.get("rating", 0))))
        x = left + (plot_w / 2 if n == 1 else pad + (plot_w - 2 * pad) * i / (n - 1))
        y = top + plot_h * (1 - rating / 10)
        chart.points.append(ChartPoint(x=x, y=y, rating=rating, date_label=short_date(ci.get("at")),
                                       long_date=format_date(ci.get("at")),
                                       show_date=(n - 1 - i) % every == 0))
    return chart


# --- labels for plan sections ------------------------------------------------------------

ABOUT_ME_LABELS: tuple[tuple[str, str, str], ...] = tuple((t.code, t.words, t.hint) for t in vocab.ABOUT_ME)
BBV_LABELS = vocab.BBV_ITEMS.table()
BBV_STATUS_WORDS = vocab.BBV_STATUSES.table()
NSP_WORDS = vocab.NSP_STATUSES.table()
RISK_WORDS = vocab.RISK_MOMENTS.table()
OUTCOME_WORDS = vocab.CHOICE_OUTCOMES.table()
PREFERENCE_WORDS = vocab.PREFERENCES.table()
FORMAT_WORDS = vocab.INFORMATION_FORMATS.table()
DECISION_WORDS = vocab.DECISIONS.table()


def yes_no(value: Any) -> str:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return "Not recorded"


def words(value: Any, table: dict[str, str]) -> str:
    if value is None or value == "":
        return "Not recorded"
    return table.get(str(value), str(value).replace("_", " ").capitalize())
