"""Agreement state: who has signed which version of the plan.

PRODUCT.md: client and keyworker each sign a specific version (a hash of its
canonical content); any later change marks the plan "changed since agreed" until
both sign again.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgreementFacts:
    current_version: int
    client_signed_version: int | None
    keyworker_signed_version: int | None
    agreed_version: int | None


def agreement_state(f: AgreementFacts) -> str:
    client_current = f.client_signed_version == f.current_version
    keyworker_current = f.keyworker_signed_version == f.current_version
    if client_current and keyworker_current:
        return "agreed"
    if client_current:
        return "awaiting_keyworker"
    if keyworker_current:
        return "awaiting_client"
    if f.agreed_version is not None or f.client_signed_version or f.keyworker_signed_version:
        return "changed_since_agreed"
    return "awaiting_client"


def agreed_version_after_signing(
    current_version: int, client_signed_version: int | None, keyworker_signed_version: int | None
) -> int | None:
    if client_signed_version == current_version and keyworker_signed_version == current_version:
        return current_version
    return None
