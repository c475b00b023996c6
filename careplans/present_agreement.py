"""The agreement state in words for one reader ("Agreed by Alex on 3 March 2026; Sam
Okafor has not signed yet."), shared by pages, the API and printed copies."""

from __future__ import annotations

from typing import Any

from careplans import changes as ch
from careplans.policy import Visibility
from careplans.present_views import AgreementView, AgreementWords

PARTIES = ("client", "keyworker")

def agreement_words(ag: AgreementView, signatures: list[dict[str, Any]], party_names: dict[str, str | None],
                    vis: Visibility, reader_id: str | None = None) -> AgreementWords:
    """Who has agreed to which version, in one honest sentence for this reader.

    The client and keyworker read "you" for themselves and the other's name; other readers
    who may see names read both names; readers who see roles only (auditors) read "the
    client" and "the keyworker". Dates are written as people write them."""
    party = vis.audience if vis.audience in PARTIES else None
    cur = ag.current_version
    signed = {"client": ag.client_signed_version, "keyworker": ag.keyworker_signed_version}
    latest: dict[str, dict[str, Any]] = {}
    for s in signatures:
        if s.get("role") in PARTIES:
            latest[s["role"]] = s

    def is_me(p: str, *, as_signer: bool) -> bool:
        if p != party:
            return False
        if as_signer and p == "keyworker" and reader_id and latest.get(p, {}).get("by_id") not in (None, reader_id):
            return False  # an earlier keyworker signed; the reader is the keyworker now
        return True

    def name(p: str, *, as_signer: bool = False) -> str:
        if is_me(p, as_signer=as_signer):
            return "you"
        if vis.names:
            if p == "client" and party_names.get("client"):
                return str(party_names["client"])
            if as_signer and latest.get(p, {}).get("by"):
                return str(latest[p]["by"])
            if party_names.get(p):
                return str(party_names[p])
        return f"the {p}"

    def has(p: str) -> str:
        return "have" if name(p) == "you" else "has"

    def on(at: Any) -> str:
        return f" on {ch.long_date(at)}" if at else ""

    def at_version(version: int | None) -> Any:
        times = [s["at"] for s in signatures if s.get("version") == version and s.get("role") in PARTIES]
        return max(times) if times else None

    now_signed = [p for p in PARTIES if signed[p] == cur]
    if len(now_signed) == 2:
        both = at_version(cur)
        if party:
            other = name("keyworker" if party == "client" else "client")
            who = f"you and {other}"
        else:
            who = f"{name('client')} and {name('keyworker')}"
        return AgreementWords(headline="Agreed by both", tone="agreed", reader_may_sign=False,
                              sentence=f"Agreed by both{on(both)}: {who} signed version {cur}.")
    if len(now_signed) == 1:
        signer = now_signed[0]
        missing = "keyworker" if signer == "client" else "client"
        waiting = name(missing)
        headline = "Waiting for you to sign" if waiting == "you" else f"Waiting for {waiting} to sign"
        earlier = signed[missing]
        tail = f" this version (only version {earlier})" if earlier else ""
        sentence = (f"Agreed by {name(signer, as_signer=True)}{on(latest.get(signer, {}).get('at'))}; "
                    f"{waiting} {has(missing)} not signed{tail} yet.")
        return AgreementWords(headline=headline, tone="waiting", sentence=sentence,
                              reader_may_sign=party == missing,
                              compare_from=earlier if party == missing and earlier else None,
                              compare_to=cur if party == missing and earlier else None)
    mine = signed.get(party) if party else None
    if ag.version is not None:
        when = on(at_version(ag.version))
        who = "you both" if party else f"{name('client')} and {name('keyworker')}"
        return AgreementWords(headline="Changed since agreed", tone="changed", reader_may_sign=party is not None,
                              sentence=f"Changed since {who} agreed{when}.",
                              compare_from=mine or ag.version, compare_to=cur)
    earlier_signers = [p for p in PARTIES if signed[p]]
    if earlier_signers:
        bits = [f"{name(p, as_signer=True)} signed version {signed[p]}{on(latest.get(p, {}).get('at'))}"
                for p in earlier_signers]
        first = max(signed[p] or 0 for p in earlier_signers)
        return AgreementWords(headline="Not agreed yet", tone="not_agreed", reader_may_sign=party is not None,
                              sentence=f"Not agreed yet: {' and '.join(bits)}, and the plan has changed since.",
                              compare_from=mine or first, compare_to=cur)
    return AgreementWords(headline="Not agreed yet", tone="not_agreed", reader_may_sign=party is not None,
                          sentence=f"Not agreed yet: nobody has signed version {cur}.")


def agreement_headline(state_facts: dict[str, Any], vis: Visibility, client_name: str | None = None) -> AgreementWords:
    """The agreement state in words from a plan's facts alone (no signature dates), for lists
    such as the caseload: {"current_version", "client_signed_version", "keyworker_signed_version",
    "agreed_version"}."""
    ag = AgreementView(state="", version=state_facts.get("agreed_version"), fingerprint=None,
                       current_version=int(state_facts.get("current_version") or 1), current_fingerprint="",
                       client_signed_version=state_facts.get("client_signed_version"),
                       keyworker_signed_version=state_facts.get("keyworker_signed_version"))
    return agreement_words(ag, [], {"client": client_name}, vis)
