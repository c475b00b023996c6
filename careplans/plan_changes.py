"""Differences between two plan documents, in words a client can read.

`diff(before, after)` walks the documents: voiced text and plain values are
leaves; lists of objects with an "id" are matched by id, so a goal added, removed
or changed is one change, not a cascade of index shifts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from careplans.plan_document import text_of

LABELS = {
    "about_me.what_matters": "What matters to me",
    "about_me.strengths": "My strengths",
    "about_me.what_helps": "What helps when things are hard",
    "about_me.what_does_not_help": "What doesn't help",
    "about_me.contact_preferences": "How I want to be contacted and spoken to",
    "about_me.important_people": "People important to me",
    "next_review_date": "Next review date",
    "staying_safe.notes": "Staying safe notes",
    "staying_safe.needle_syringe_access": "Needle and syringe access",
    "staying_safe.overdose_risk_moments": "Times of higher overdose risk",
}
GOAL_FIELD_LABELS = {
    "title": "name",
    "why": "why it matters",
    "area": "area",
    "target_date": "target date",
    "status": "status",
    "steps": "steps",
}
STATUS_WORDS = {
    "proposed": "proposed",
    "active": "active",
    "achieved": "achieved",
    "paused": "paused",
    "let_go": "let go",
}
AREA_WORDS = {
    "drug_alcohol_use": "drug and alcohol use",
    "health": "physical and psychological health",
    "offending": "offending",
    "social_functioning": "social functioning",
    "harm_reduction": "harm reduction",
}


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any
    summary: str


def _is_leaf(value: Any) -> bool:
    return not isinstance(value, dict) or "voice" in value


def _id_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) and "id" in v for v in value)


def _walk(before: Any, after: Any, path: str, out: list[tuple[str, Any, Any]]) -> None:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict) and not _is_leaf(before) and not _is_leaf(after):
        for key in list(before.keys()) + [k for k in after.keys() if k not in before]:
            _walk(before.get(key), after.get(key), f"{path}.{key}" if path else key, out)
        return
    if _id_list(before) and _id_list(after) and (before or after) and not path.endswith(".steps"):
        b = {item["id"]: item for item in before}
        a = {item["id"]: item for item in after}
        for key in list(b.keys()) + [k for k in a.keys() if k not in b]:
            _walk(b.get(key), a.get(key), f"{path}[{key}]", out)
        return
    out.append((path, before, after))


def raw_diff(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    out: list[tuple[str, Any, Any]] = []
    _walk(before, after, "", out)
    return out


def format_date(value: Any) -> str:
    if not value:
        return "no date"
    try:
        d = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{d.day} {d.strftime('%B %Y')}"


def _quote(value: Any, limit: int = 60) -> str:
    text = text_of(value)
    if text is None:
        return "nothing"
    text = " ".join(str(text).split())
    return f"“{text[: limit - 1]}…”" if len(text) > limit else f"“{text}”"


def _goal_name(goal: dict[str, Any] | None) -> str:
    return _quote(goal.get("title") if goal else None, 40)


def _goal_lookup(doc: dict[str, Any], goal_id: str) -> dict[str, Any] | None:
    for g in doc.get("goals", []):
        if g["id"] == goal_id:
            return g
    return None


def _split_goal_path(path: str) -> tuple[str, str | None, str | None]:
    # goals[<id>] or goals[<id>].field or goals[<id>].check_ins[<cid>]
    rest = path[len("goals[") :]
    goal_id, _, tail = rest.partition("]")
    tail = tail.lstrip(".")
    if not tail:
        return goal_id, None, None
    field, _, sub = tail.partition("[")
    return goal_id, field, sub.rstrip("]") or None


def summarise(path: str, before: Any, after: Any, before_doc: dict[str, Any], after_doc: dict[str, Any]) -> str:
    if path.startswith("goals["):
        goal_id, field, sub = _split_goal_path(path)
        goal = _goal_lookup(after_doc, goal_id) or _goal_lookup(before_doc, goal_id)
        name = _goal_name(goal)
        if field is None:
            if before is None:
                return f"New goal added: {name}"
            return f"Goal {name} removed"
        if field == "check_ins":
            if before is None and isinstance(after, dict):
                note = f" — {_quote(after.get('note'))}" if after.get("note") else ""
                return f"Check-in on {name}: {after.get('rating')} out of 10{note}"
            return f"A check-in on {name} changed"
        if field == "title":
            return f"Goal {_goal_name({'title': before})} renamed to {_quote(after, 40)}"
        if field == "target_date":
            if not before:
                return f"Target date for {name} set to {format_date(after)}"
            if not after:
                return f"Target date for {name} removed (was {format_date(before)})"
            return f"Target date for {name} moved from {format_date(before)} to {format_date(after)}"
        if field == "status":
            return (
                f"{name} changed from {STATUS_WORDS.get(before, before)} to {STATUS_WORDS.get(after, after)}"
            )
        if field == "area":
            return f"Area of {name} changed from {AREA_WORDS.get(before, before)} to {AREA_WORDS.get(after, after)}"
        if field == "steps":
            return f"Steps for {name} updated ({len(after or [])} steps)"
        if field == "why":
            return f"Why {name} matters changed to {_quote(after)}" if after else f"Why {name} matters removed"
        return f"{GOAL_FIELD_LABELS.get(field, field)} of {name} changed"
    if path.startswith("choices["):
        if before is None and isinstance(after, dict):
            return choice_summary(after)
        entry = after if isinstance(after, dict) else before if isinstance(before, dict) else {}
        name = entry.get("option_name") or "A treatment option"
        if after is None:
            return f"{name}: a discussion was removed from the record"
        return f"{name}: the record of a discussion was updated"
    label = LABELS.get(path)
    if path == "next_review_date":
        if not before:
            return f"Next review date set to {format_date(after)}"
        if not after:
            return "Next review date removed"
        return f"Next review date moved from {format_date(before)} to {format_date(after)}"
    if path.startswith("about_me.") and label:
        if isinstance(after, dict) and after.get("disagreement") and (
            not isinstance(before, dict) or before.get("disagreement") != after.get("disagreement")
        ):
            return f"{label}: “we see this differently” recorded, with both views kept"
        if before is None:
            return f"{label} added: {_quote(after)}"
        if after is None:
            return f"{label} cleared"
        return f"{label} changed from {_quote(before)} to {_quote(after)}"
    if path.startswith("staying_safe."):
        return f"{label or path.split('.', 1)[1].replace('_', ' ').replace('.', ': ').capitalize()} updated"
    return f"{label or path.replace('_', ' ')} changed"


def describe(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    return [
        Change(path=p, before=b, after=a, summary=summarise(p, b, a, before, after))
        for p, b, a in raw_diff(before, after)
    ]


def version_summary(changes: list[Change], author_name: str, author_role: str) -> str:
    who = f"by {author_name} ({author_role})"
    if not changes:
        return f"No change to the content, {who}"
    text = "; ".join(c.summary for c in changes[:5])
    if len(changes) > 5:
        text += f"; and {len(changes) - 5} more changes"
    return f"{text}, {who}"


def paths_overlap(a: str, b: str) -> bool:
    """True when one path is the other or lies inside it."""
    return a == b or a.startswith(b + ".") or a.startswith(b + "[") or b.startswith(a + ".") or b.startswith(a + "[")


# --- treatment choices and prescribing ----------------------------------------------------

OUTCOME_WORDS = {
    "chosen": "chosen",
    "declined": "declined by the person",
    "not_suitable": "not clinically suitable",
    "not_available": "not available here",
    "undecided": "undecided for now",
}
PREFERENCE_WORDS = {
    "preferred": "would like this",
    "open": "open to it",
    "not_preferred": "would rather not",
}
FORMAT_WORDS = {
    "conversation": "in conversation",
    "leaflet": "leaflet",
    "easy_read": "easy read",
    "video": "video",
    "online": "online",
    "interpreter": "with an interpreter",
    "peer": "from a peer",
    "other": "other",
}
DECISION_WORDS = {
    "approved": "approved",
    "approved_with_changes": "approved with changes",
    "declined": "not approved",
}


def choice_summary(entry: dict[str, Any]) -> str:
    """One ledger entry in plain words, for example
    "Methadone discussed: information given (leaflet); preference: “I'd like to try it”; outcome: chosen"."""
    name = entry.get("option_name") or str(entry.get("option", "")).replace("_", " ").capitalize()
    parts = []
    if entry.get("information_given"):
        fmt = FORMAT_WORDS.get(entry.get("information_format") or "")
        parts.append(f"information given ({fmt})" if fmt else "information given")
    else:
        parts.append("no information given yet")
    if entry.get("client_view"):
        parts.append(f"their view: {_quote(entry['client_view'])}")
    pref = entry.get("preference")
    if pref == "stated" and entry.get("preference_words"):
        parts.append(f"preference: {_quote(entry['preference_words'])}")
    elif pref in PREFERENCE_WORDS:
        parts.append(f"preference: {PREFERENCE_WORDS[pref]}")
    outcome = entry.get("outcome")
    if outcome:
        text = f"outcome: {OUTCOME_WORDS.get(outcome, outcome)}"
        if entry.get("reason"):
            text += f" ({_quote(entry['reason'])})"
        parts.append(text)
    if entry.get("unmet_need"):
        parts.append("recorded as an unmet need")
    when = f" on {format_date(entry['discussed_on'])}" if entry.get("discussed_on") else ""
    return f"{name} discussed{when}: " + "; ".join(parts)


def decision_summary(decision: dict[str, Any]) -> str:
    """A prescribing decision in plain words, for example
    "Methadone oral solution 60 mg once a day, supervised consumption: approved by Dr Ray (clinician)"."""
    what = decision.get("product_name") or decision.get("option_name") or decision.get("option") or "Medication"
    if decision.get("dose_mg") is not None:
        dose = decision["dose_mg"]
        what += f" {int(dose) if float(dose).is_integer() else dose} mg"
    if decision.get("frequency_name"):
        what += f" {decision['frequency_name'].lower()}"
    if decision.get("supervision_name"):
        what += f", {decision['supervision_name'].lower()}"
    verdict = DECISION_WORDS.get(decision.get("decision", ""), decision.get("decision", ""))
    who = f" by {decision['by']} (clinician)" if decision.get("by") else ""
    return f"{what}: {verdict}{who}, about plan version {decision.get('plan_version')}"
