"""What changed between two plan documents: stored as data, read as sentences.

`derive(before, after)` turns two documents into `Change` records: section, item id,
field, kind of change, and the old and new values **only where a value is a code,
date, number or yes/no**. Words people wrote are never copied into a change; a
change to them says only which text changed. Each version stores its changes
(`plan_versions.changes`), so history reads without comparing whole documents.

`sentence(change, ...)` renders one change at read time, for one reader: names only
for readers who may see names (`policy.Visibility.names`), goal names only for
readers who may see free text, and the reader's own changes as "You". A reader can
never learn through a sentence what they could not read in the document.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import msgspec

from careplans import vocab
from careplans.policy import Visibility


class Change(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    """One thing a person changed. `before`/`after` hold codes, dates, numbers or flags,
    never free text; `text` is True when the change is to words someone wrote."""

    section: str            # about_me, goals, check_ins, choices, staying_safe, plan
    kind: str               # added, removed, changed, differing_views
    field: str | None = None
    item: str | None = None  # goal id or choice entry id
    sub: str | None = None   # check-in id
    before: Any = None
    after: Any = None
    text: bool = False
    path: str = ""           # the document path, for attribution and the prescribing queue


# --- deriving -------------------------------------------------------------------------------

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
    """(path, before, after) for each leaf that differs; lists of objects with ids are
    matched by id, so one goal added is one difference, not an index shift."""
    out: list[tuple[str, Any, Any]] = []
    _walk({k: v for k, v in before.items() if k != "schema_version"},
          {k: v for k, v in after.items() if k != "schema_version"}, "", out)
    return out


def _kind(before: Any, after: Any) -> str:
    if before in (None, "", []):
        return "added"
    if after in (None, "", []):
        return "removed"
    return "changed"


def _split_item(path: str, prefix: str) -> tuple[str, str]:
    rest = path[len(prefix) + 1:]
    item, _, tail = rest.partition("]")
    return item, tail.lstrip(".")


def _choice_codes(entry: dict[str, Any]) -> dict[str, Any]:
    return {"option": entry.get("option"), "information_given": bool(entry.get("information_given")),
            "information_format": entry.get("information_format"), "preference": entry.get("preference"),
            "outcome": entry.get("outcome"), "unmet_need": bool(entry.get("unmet_need")),
            "discussed_on": entry.get("discussed_on")}


def _naloxone_codes(value: dict[str, Any] | None) -> dict[str, Any]:
    value = value or {}
    return {k: value.get(k) for k in ("offered", "offered_on", "supplied", "product", "supplied_on", "peer_supply")}


def derive(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """The changes that turn `before` into `after`, one per thing a person changed."""
    out: list[Change] = []
    grouped: dict[str, Change] = {}
    for path, b, a in raw_diff(before, after):
        if path.startswith("about_me."):
            name = path.split(".", 1)[1]
            kind = _kind(b, a)
            if isinstance(a, dict) and a.get("disagreement") and (
                    not isinstance(b, dict) or b.get("disagreement") != a.get("disagreement")):
                kind = "differing_views"
            out.append(Change(section="about_me", field=name, kind=kind, text=True, path=path))
        elif path == "next_review_date":
            out.append(Change(section="plan", field="next_review_date", kind=_kind(b, a), before=b, after=a,
                              path=path))
        elif path == "substances":
            out.append(Change(section="plan", field="substances", kind=_kind(b, a), before=list(b or []),
                              after=list(a or []), path=path))
        elif path.startswith("goals["):
            goal_id, tail = _split_item(path, "goals")
            if not tail:
                out.append(Change(section="goals", item=goal_id, kind="added" if b is None else "removed",
                                  after=(a or {}).get("area") if a else None, path=path))
            elif tail.startswith("check_ins"):
                cid = tail.partition("[")[2].rstrip("]")
                if b is None and isinstance(a, dict):
                    out.append(Change(section="check_ins", item=goal_id, sub=cid, kind="added",
                                      after=a.get("rating"), text=bool(a.get("note")), path=path))
                else:
                    out.append(Change(section="check_ins", item=goal_id, sub=cid, kind=_kind(b, a), path=path))
            else:
                field = tail.split(".")[0]
                if field in ("title", "why"):
                    out.append(Change(section="goals", item=goal_id, field=field, kind=_kind(b, a), text=True,
                                      path=path))
                elif field == "steps":
                    out.append(Change(section="goals", item=goal_id, field="steps", kind="changed",
                                      before=len(b or []), after=len(a or []), path=path))
                elif field in ("target_date", "status", "area"):
                    out.append(Change(section="goals", item=goal_id, field=field, kind=_kind(b, a), before=b,
                                      after=a, path=path))
                # created_on never changes after a goal is added
        elif path.startswith("choices["):
            entry_id, _ = _split_item(path, "choices")
            if entry_id in grouped:
                continue
            entry = a if isinstance(a, dict) else None
            change = Change(section="choices", item=entry_id, kind="added" if b is None else _kind(b, a),
                            after=_choice_codes(entry) if entry else None,
                            text=bool(entry and (entry.get("client_view") or entry.get("reason")
                                                 or entry.get("preference_words"))),
                            path=f"choices[{entry_id}]")
            grouped[entry_id] = change
            out.append(change)
        elif path.startswith("staying_safe.naloxone"):
            if "naloxone" in grouped:
                continue
            nb = (before.get("staying_safe") or {}).get("naloxone")
            na = (after.get("staying_safe") or {}).get("naloxone")
            change = Change(section="staying_safe", field="naloxone", kind="changed", before=_naloxone_codes(nb),
                            after=_naloxone_codes(na), path="staying_safe.naloxone")
            grouped["naloxone"] = change
            out.append(change)
        elif path.startswith("staying_safe.bbv"):
            if "bbv" in grouped:
                continue
            bb = dict((before.get("staying_safe") or {}).get("bbv") or {})
            ba = dict((after.get("staying_safe") or {}).get("bbv") or {})
            changed = {k: ba.get(k) for k in ba if ba.get(k) != bb.get(k)}
            change = Change(section="staying_safe", field="bbv", kind="changed",
                            before={k: bb.get(k) for k in changed}, after=changed, path="staying_safe.bbv")
            grouped["bbv"] = change
            out.append(change)
        elif path == "staying_safe.needle_syringe_access":
            out.append(Change(section="staying_safe", field="needle_syringe_access", kind=_kind(b, a), before=b,
                              after=a, path=path))
        elif path.startswith("staying_safe.overdose_risk_moments"):
            out.append(Change(section="staying_safe", field="overdose_risk_moments", kind="changed",
                              before=[m.get("kind") for m in b or []], after=[m.get("kind") for m in a or []],
                              text=True, path=path))
        elif path.startswith("staying_safe.notes"):
            out.append(Change(section="staying_safe", field="notes", kind=_kind(b, a), text=True, path=path))
        elif path.startswith("staying_safe"):
            out.append(Change(section="staying_safe", kind="changed", path=path))
        else:
            out.append(Change(section="plan", field=path.split(".")[0], kind="changed", path=path))
    return out


def check_in_added(goal_id: str, item: dict[str, Any]) -> Change:
    """The change `derive` finds where the only difference is one check-in added to a goal
    (careplans.checkin_write, which knows that without comparing the documents)."""
    return Change(section="check_ins", item=goal_id, sub=item["id"], kind="added", after=item.get("rating"),
                  text=bool(item.get("note")), path=f"goals[{goal_id}].check_ins[{item['id']}]")


def to_stored(changes: Iterable[Change]) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(c) for c in changes]


def from_stored(rows: Iterable[dict[str, Any]] | None) -> list[Change]:
    return [msgspec.convert(r, Change) for r in rows or []]


def paths_overlap(a: str, b: str) -> bool:
    """True when one document path is the other or lies inside it."""
    return a == b or a.startswith(b + ".") or a.startswith(b + "[") or b.startswith(a + ".") or b.startswith(a + "[")


# --- reading them as sentences ------------------------------------------------------------------

def long_date(value: Any) -> str:
    if not value:
        return "no date"
    try:
        d = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{d.day} {d.strftime('%B %Y')}"


@dataclass(frozen=True)
class Reader:
    """Who is reading, and what they may see (from the policy)."""

    id: str | None
    visibility: Visibility


@dataclass(frozen=True)
class Author:
    id: str | None
    name: str | None
    role: str | None


def who(author: Author, reader: Reader) -> str:
    """The subject of a sentence: "You", "Sam (keyworker)", or, for readers who see no
    names, the role alone ("The client", "A keyworker")."""
    if reader.id is not None and author.id == reader.id:
        return "You"
    role = author.role or ""
    if not reader.visibility.names or not author.name:
        return "The client" if role == "client" else f"A {vocab.ROLES.words(role, 'member of staff').lower()}"
    return f"{author.name} ({vocab.ROLES.words(role, 'staff').lower()})"


GoalNames = Callable[[str], "str | None"]


def _quoted(text: str | None, limit: int = 50) -> str:
    text = " ".join((text or "").split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"‘{text}’"


def _goal(change: Change, reader: Reader, goal_names: GoalNames, goal_areas: Callable[[str], str | None]) -> str:
    """How a goal is named in a sentence: its name for readers who may read it, else its area."""
    if reader.visibility.free_text and change.item:
        name = goal_names(change.item)
        if name:
            return f"the goal {_quoted(name)}"
    area = goal_areas(change.item or "") if change.item else None
    return f"a goal about {vocab.GOAL_AREAS.phrase(area)}" if area else "a goal"


def _choice(after: dict[str, Any] | None, option_names: Callable[[str], str]) -> str:
    after = after or {}
    name = option_names(str(after.get("option") or "")) or "a treatment option"
    parts = []
    if after.get("information_given"):
        fmt = after.get("information_format")
        parts.append(f"information given ({vocab.INFORMATION_FORMATS.phrase(fmt)})" if fmt else "information given")
    pref = after.get("preference")
    if pref == "stated":
        parts.append("their preference in their own words")
    elif pref:
        parts.append(vocab.PREFERENCES.phrase(pref))
    if after.get("outcome"):
        parts.append(f"outcome: {vocab.CHOICE_OUTCOMES.phrase(after['outcome'])}")
    if after.get("unmet_need"):
        parts.append("recorded as an unmet need")
    detail = f": {', '.join(parts)}" if parts else ""
    when = f" on {long_date(after['discussed_on'])}" if after.get("discussed_on") else ""
    return f"recorded talking about {name}{when}{detail}"


def _naloxone(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    before, after = before or {}, after or {}
    bits = []
    if after.get("offered") != before.get("offered") or after.get("offered_on") != before.get("offered_on"):
        if after.get("offered"):
            bits.append("offered" + (f" on {long_date(after['offered_on'])}" if after.get("offered_on") else ""))
        elif after.get("offered") is False:
            bits.append("not offered yet")
    if (after.get("supplied") != before.get("supplied") or after.get("product") != before.get("product")
            or after.get("supplied_on") != before.get("supplied_on")):
        if after.get("supplied"):
            product = vocab.NALOXONE_PRODUCTS.words(after.get("product")) if after.get("product") else "a kit"
            bits.append(f"{product} supplied" + (f" on {long_date(after['supplied_on'])}"
                                                 if after.get("supplied_on") else ""))
        elif after.get("supplied") is False:
            bits.append("no kit supplied yet")
    if after.get("peer_supply") != before.get("peer_supply") and after.get("peer_supply") is not None:
        bits.append("can pass kits on to others" if after.get("peer_supply") else "not passing kits on")
    return "updated naloxone" + (f": {', '.join(bits)}" if bits else "")


def sentence(change: Change, author: Author, reader: Reader, *, goal_names: GoalNames,
             goal_areas: Callable[[str], str | None], option_names: Callable[[str], str]) -> str:
    """One change as one sentence for this reader, with the author as its subject."""
    subject = who(author, reader)
    s, f, k = change.section, change.field, change.kind
    if s == "about_me":
        label = f"‘{vocab.ABOUT_ME.words(f)}’"
        verb = {"added": "wrote", "removed": "cleared", "differing_views": "added a different view of"}.get(k, "changed")
        tail = ", keeping both views side by side" if k == "differing_views" else ""
        return f"{subject} {verb} {label}{tail}"
    if s == "plan" and f == "next_review_date":
        if k == "added":
            return f"{subject} set the next review date to {long_date(change.after)}"
        if k == "removed":
            return f"{subject} removed the next review date"
        return f"{subject} moved the next review date from {long_date(change.before)} to {long_date(change.after)}"
    if s == "plan" and f == "substances":
        if not change.after:
            return f"{subject} cleared what the plan is about"
        words = [vocab.SUBSTANCES.phrase(code) for code in change.after]
        listed = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
        return f"{subject} said the plan is about {listed}"
    if s in ("goals", "check_ins"):
        goal = _goal(change, reader, goal_names, goal_areas)
        if s == "check_ins":
            if k == "added":
                note = ", with a note" if change.text else ""
                return f"{subject} checked in on {goal}: {change.after} out of 10{note}"
            return f"{subject} changed a check-in on {goal}"
        if f is None:
            return f"{subject} {'added' if k == 'added' else 'removed'} {goal}"
        if f == "title":
            return f"{subject} renamed {goal}" if k != "added" else f"{subject} named {goal}"
        if f == "why":
            return f"{subject} {'cleared' if k == 'removed' else 'changed'} why {goal} matters"
        if f == "target_date":
            if k == "added":
                return f"{subject} set the target date of {goal} to {long_date(change.after)}"
            if k == "removed":
                return f"{subject} removed the target date of {goal} (it was {long_date(change.before)})"
            return (f"{subject} moved the target date of {goal} from {long_date(change.before)} "
                    f"to {long_date(change.after)}")
        if f == "status":
            return (f"{subject} changed {goal} from {vocab.GOAL_STATUSES.phrase(change.before)} "
                    f"to {vocab.GOAL_STATUSES.phrase(change.after)}")
        if f == "area":
            return (f"{subject} moved {goal} from {vocab.GOAL_AREAS.phrase(change.before)} "
                    f"to {vocab.GOAL_AREAS.phrase(change.after)}")
        if f == "steps":
            n = change.after or 0
            return f"{subject} updated the steps for {goal} ({n} step{'s' if n != 1 else ''})"
        return f"{subject} changed {goal}"
    if s == "choices":
        if k == "added":
            return f"{subject} {_choice(change.after, option_names)}"
        return f"{subject} changed the record of a treatment options conversation"
    if s == "staying_safe":
        if f == "naloxone":
            return f"{subject} {_naloxone(change.before, change.after)}"
        if f == "bbv":
            parts = [f"{vocab.BBV_ITEMS.words(item)}: {vocab.BBV_STATUSES.phrase(status)}"
                     for item, status in (change.after or {}).items()]
            return f"{subject} updated blood-borne virus tests" + (f" ({'; '.join(parts)})" if parts else "")
        if f == "needle_syringe_access":
            if k == "removed":
                return f"{subject} cleared needle and syringe access"
            return f"{subject} recorded needle and syringe access: {vocab.NSP_STATUSES.phrase(change.after)}"
        if f == "overdose_risk_moments":
            n = len(change.after or [])
            return f"{subject} updated the times of higher overdose risk ({n} listed)"
        if f == "notes":
            return f"{subject} {'cleared' if k == 'removed' else 'changed'} the staying safe notes"
        return f"{subject} updated staying safe"
    if s == "assessments":
        return f"{subject} {_assessment(change, reader)}"
    return f"{subject} changed the plan"


def _assessment(change: Change, reader: Reader) -> str:
    """An assessment saved or its visibility changed. Only the person themself reads which
    questionnaire it was: to anyone else, even that a screen was done could say more than
    the answers they may see. No answer, question or visibility level is ever named."""
    if change.field == "visibility":
        return "changed who can see some assessment answers"
    after = change.after or {}
    what = "a questionnaire"
    if reader.visibility.audience == "client" and after.get("questionnaire"):
        from careplans import questionnaires

        q = questionnaires.get(str(after["questionnaire"]))
        what = f"‘{q.title}’" if q else what
    if change.kind == "added":
        return f"started {what}" + (" and finished it" if after.get("finished") else "")
    return f"saved answers to {what}" + (" (finished)" if after.get("finished") else "")
