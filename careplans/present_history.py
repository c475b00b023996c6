"""A plan's history for a reader: who has looked at it, versions grouped by visit, and
what is new since the reader last looked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from careplans import changes as ch
from careplans import vocab
from careplans.present_views import AgreementWords, DecisionView, View, iso
from careplans.present_words import fingerprint_label

# --- who has looked at the plan, readable ------------------------------------------------------------

class LookGroup(View):
    """One person's visits on one day: "Sam Okafor (keyworker), 3 March 2026: viewed the plan 3 times"."""

    who: str
    role: str
    day: str
    last_at: str
    count: int
    actions: list[str]
    times: list[str]


class OwnLooks(View):
    """The reader's own visits folded into one line: "You, 14 times this week"."""

    sentence: str
    count: int
    times: list[str]


class WhoLooked(View):
    others: list[LookGroup]  # other people first, newest first: the "no surprises" promise
    own: list[OwnLooks]
    total: int


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def who_looked(events: list[dict[str, Any]], reader_id: str | None, names: dict[str, str],
               action_words: dict[str, str], now: dt.datetime, tz: dt.tzinfo = dt.timezone.utc) -> WhoLooked:
    """Every event on a plan (`{"at": datetime, "actor_id", "actor_role", "action"}`), grouped
    by person and day, others first and newest first; the reader's own folded into a line for
    this week and one for before. Nothing is dropped: each group keeps its times."""
    groups: dict[tuple[str, dt.date], list[dict[str, Any]]] = {}
    mine: list[dict[str, Any]] = []
    for e in events:
        if reader_id is not None and e.get("actor_id") == reader_id:
            mine.append(e)
            continue
        day = e["at"].astimezone(tz).date()
        groups.setdefault((str(e.get("actor_id") or ""), day), []).append(e)
    others = []
    for (actor, day), evs in groups.items():
        evs.sort(key=lambda e: e["at"], reverse=True)
        counts: dict[str, int] = {}
        for e in evs:
            what = action_words.get(e["action"], e["action"].replace(".", " "))
            counts[what] = counts.get(what, 0) + 1
        role = evs[0].get("actor_role") or ""
        name = names.get(actor) or "Someone"
        others.append(LookGroup(
            who=f"{name} ({vocab.ROLES.words(role, 'staff').lower()})", role=role, day=day.isoformat(),
            last_at=iso(evs[0]["at"]), count=len(evs),
            actions=[f"{what} {_times(n)}" if n > 1 else what for what, n in counts.items()],
            times=[iso(e["at"]) for e in evs]))
    others.sort(key=lambda g: g.last_at, reverse=True)
    week_ago = now - dt.timedelta(days=7)
    recent = sorted((e for e in mine if e["at"] >= week_ago), key=lambda e: e["at"], reverse=True)
    older = sorted((e for e in mine if e["at"] < week_ago), key=lambda e: e["at"], reverse=True)
    own = []
    if recent:
        own.append(OwnLooks(sentence=f"You, {_times(len(recent))} this week", count=len(recent),
                            times=[iso(e["at"]) for e in recent]))
    if older:
        own.append(OwnLooks(sentence=f"You, {_times(len(older))} before that", count=len(older),
                            times=[iso(e["at"]) for e in older]))
    return WhoLooked(others=others, own=own, total=len(events))


# --- history, grouped by visit ------------------------------------------------------------------------

class Visit(View):
    """One sitting: consecutive versions saved by one person within a couple of hours, read as
    one heading ("Sam Okafor (keyworker)") and plain lines, repeated lines counted once."""

    who: str
    role: str
    started: str
    ended: str
    first_version: int
    last_version: int
    lines: list[str]
    label: str


VISIT_GAP = dt.timedelta(hours=2)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def predicate(line: str, subject: str) -> str:
    """A sentence without its subject, capitalised: "Sam (keyworker) set the date" → "Set the date"."""
    if subject and line.startswith(subject + " "):
        line = line[len(subject) + 1:]
    return _cap(line)


def group_visits(versions: list[dict[str, Any]], reader: ch.Reader) -> list[Visit]:
    """Versions oldest first (`{"number", "author": ch.Author, "at": datetime, "lines": [sentences],
    "fingerprint"}`) grouped into visits, newest visit first."""
    visits: list[tuple[ch.Author, list[dict[str, Any]]]] = []
    for v in versions:
        author: ch.Author = v["author"]
        if visits:
            last_author, run = visits[-1]
            same = (last_author.id, last_author.role) == (author.id, author.role)
            if same and v["at"] - run[-1]["at"] <= VISIT_GAP:
                run.append(v)
                continue
        visits.append((author, [v]))
    out = []
    for author, run in reversed(visits):
        subject = ch.who(author, reader)
        counts: dict[str, int] = {}
        for v in run:
            lines = v["lines"] or ([f"{subject} started the plan"] if v["number"] == 1 else
                                   [f"{subject} saved the plan with no change to its content"])
            for line in lines:
                key = predicate(line, subject)
                counts[key] = counts.get(key, 0) + 1
        out.append(Visit(
            who=subject, role=author.role or "", started=iso(run[0]["at"]), ended=iso(run[-1]["at"]),
            first_version=run[0]["number"], last_version=run[-1]["number"],
            lines=[f"{line} ({_times(n)})" if n > 1 else line for line, n in counts.items()],
            label=fingerprint_label(run[-1]["number"], run[-1]["fingerprint"])))
    return out


# --- since you last looked ------------------------------------------------------------------------------

class NewsItem(View):
    kind: str  # "change", "decision", "signature" or "review"
    text: str
    link: str | None = None
    link_text: str | None = None


class News(View):
    """What is new on a plan for one reader since they last looked at it."""

    plan_id: str
    since: str | None
    items: list[NewsItem]


def news(plan_id: str, since: dt.datetime | None, versions: list[dict[str, Any]], decisions: list[DecisionView],
         words: AgreementWords | None, next_review_date: str | None, today: dt.date, reader: ch.Reader,
         current_version: int, max_lines: int = 3) -> News:
    """A "since you last looked" panel: changes by other people (`versions` newer than `since`,
    oldest first, as for `group_visits`), prescribing decisions made since, a signature asked
    of the reader, and a review coming up in the next fortnight (or overdue)."""
    items: list[NewsItem] = []
    others = [v for v in versions if v["author"].id != reader.id]
    if others:
        by: dict[str, list[str]] = {}
        for v in others:
            subject = ch.who(v["author"], reader)
            lines = by.setdefault(subject, [])
            for line in v["lines"] or []:
                what = predicate(line, subject)
                what = what[:1].lower() + what[1:]
                if what not in lines:
                    lines.append(what)
        first = min(v["number"] for v in others)
        for subject, lines in by.items():
            shown = "; ".join(lines[:max_lines]) if lines else "saved the plan"
            more = f"; and {len(lines) - max_lines} more" if len(lines) > max_lines else ""
            items.append(NewsItem(kind="change", text=f"{subject} {shown}{more}.",
                                  link=f"/plans/{plan_id}/compare?from={max(1, first - 1)}&to={current_version}"
                                  if first > 1 else f"/plans/{plan_id}/history",
                                  link_text="See what changed"))
    for d in decisions:
        items.append(NewsItem(kind="decision", text=f"A prescribing decision: {d.summary}.",
                              link=f"/plans/{plan_id}#prescribing", link_text="Read the decision"))
    if words is not None and words.reader_may_sign:
        items.append(NewsItem(kind="signature", text=f"Your signature is asked for on version {current_version}.",
                              link=f"/plans/{plan_id}/agreement", link_text="Read it and sign"))
    if next_review_date:
        try:
            review = dt.date.fromisoformat(str(next_review_date)[:10])
        except ValueError:
            review = None
        if review is not None:
            days = (review - today).days
            when = ch.long_date(review)
            if days < 0:
                items.append(NewsItem(kind="review", text=f"The review was due on {when}."))
            elif days == 0:
                items.append(NewsItem(kind="review", text=f"The review is today, {when}."))
            elif days <= 14:
                items.append(NewsItem(kind="review", text=f"The review is coming up on {when}, in "
                                                          f"{'1 day' if days == 1 else f'{days} days'}."))
    return News(plan_id=plan_id, since=iso(since) if since else None, items=items)
