"""Settings from the environment, with safe local defaults.

CAREPLANS_ENV=production refuses to start without CAREPLANS_SECRET_KEY, turns on
Secure cookies and never loads demo data.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from careplans.db import DEFAULT_DATABASE_URL, PROJECT_ROOT, normalise_url


class ConfigurationError(RuntimeError):
    pass


def _local_secret() -> str:
    """A development secret kept in var/ so restarts keep sessions and CSRF cookies valid."""
    path = PROJECT_ROOT / "var" / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "testserver", "testserver.local", "[::1]")
    session_idle_minutes: int = 30
    session_max_hours: int = 12  # absolute lifetime, however active the session
    session_cleanup_minutes: int = 15  # how often expired sessions and login delays are deleted
    allowed_origins: tuple[str, ...] = ()  # other origins allowed to post (scheme://host:port)
    openapi: bool = True  # /schema; off by default in production
    unavailable_options: frozenset[str] = field(default_factory=frozenset)
    pdf_timeout_seconds: int = 30

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def secure_cookies(self) -> bool:
        return self.production

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        mode = env.get("CAREPLANS_ENV", "development").strip().lower()
        if mode not in ("development", "production", "test"):
            raise ConfigurationError("CAREPLANS_ENV must be development, production or test.")
        secret = env.get("CAREPLANS_SECRET_KEY", "").strip()
        if mode == "production":
            if len(secret) < 32:
                raise ConfigurationError(
                    "CAREPLANS_SECRET_KEY must be set (at least 32 characters) when CAREPLANS_ENV=production."
                )
            if env.get("CAREPLANS_ARGON2_PROFILE"):
                raise ConfigurationError("CAREPLANS_ARGON2_PROFILE is for the test suite only.")
        elif not secret:
            secret = _local_secret()
        if unavailable := frozenset(
            c.strip() for c in env.get("CAREPLANS_UNAVAILABLE_OPTIONS", "").split(",") if c.strip()
        ):
            from careplans.catalogue import load_options

            known = {o.code for o in load_options()}
            if unknown := sorted(unavailable - known):
                raise ConfigurationError(
                    f"CAREPLANS_UNAVAILABLE_OPTIONS names unknown options: {', '.join(unknown)}. "
                    f"Known: {', '.join(sorted(known))}."
                )
        hosts = tuple(h.strip() for h in env.get("CAREPLANS_ALLOWED_HOSTS", "").split(",") if h.strip())
        unavailable = frozenset(
            c.strip() for c in env.get("CAREPLANS_UNAVAILABLE_OPTIONS", "").split(",") if c.strip()
        )
        kwargs: dict = {
            "env": mode,
            "database_url": normalise_url(env.get("CAREPLANS_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL),
            "secret_key": secret,
            "host": env.get("CAREPLANS_HOST", "127.0.0.1"),
            "port": int(env.get("CAREPLANS_PORT", "8000")),
            "session_idle_minutes": int(env.get("CAREPLANS_SESSION_IDLE_MINUTES", "30")),
            "session_max_hours": int(env.get("CAREPLANS_SESSION_MAX_HOURS", "12")),
            "session_cleanup_minutes": int(env.get("CAREPLANS_SESSION_CLEANUP_MINUTES", "15")),
            "allowed_origins": tuple(o.strip() for o in env.get("CAREPLANS_ALLOWED_ORIGINS", "").split(",")
                                     if o.strip()),
            "openapi": env.get("CAREPLANS_OPENAPI", "off" if mode == "production" else "on").strip().lower()
            in ("1", "on", "true", "yes"),
            "unavailable_options": unavailable,
            "pdf_timeout_seconds": int(env.get("CAREPLANS_PDF_TIMEOUT_SECONDS", "30")),
        }
        if hosts:
            kwargs["allowed_hosts"] = hosts
        elif mode == "production":
            raise ConfigurationError("Set CAREPLANS_ALLOWED_HOSTS to the host names this service answers on.")
        return cls(**kwargs)
