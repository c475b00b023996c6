from __future__ import annotations

import pytest

from api.settings import ConfigurationError, Settings


def test_production_refuses_to_start_without_a_secret():
    with pytest.raises(ConfigurationError, match="CAREPLANS_SECRET_KEY"):
        Settings.from_env({"CAREPLANS_ENV": "production", "CAREPLANS_ALLOWED_HOSTS": "care.example"})


def test_production_needs_allowed_hosts_and_forbids_test_hashing():
    secret = "s" * 40
    with pytest.raises(ConfigurationError, match="ALLOWED_HOSTS"):
        Settings.from_env({"CAREPLANS_ENV": "production", "CAREPLANS_SECRET_KEY": secret})
    with pytest.raises(ConfigurationError, match="test suite"):
        Settings.from_env({"CAREPLANS_ENV": "production", "CAREPLANS_SECRET_KEY": secret,
                           "CAREPLANS_ALLOWED_HOSTS": "care.example", "CAREPLANS_ARGON2_PROFILE": "cheapest"})
    s = Settings.from_env({"CAREPLANS_ENV": "production", "CAREPLANS_SECRET_KEY": secret,
                           "CAREPLANS_ALLOWED_HOSTS": "care.example"})
    assert s.secure_cookies and s.allowed_hosts == ("care.example",)


def test_local_defaults():
    s = Settings.from_env({"CAREPLANS_PORT": "8123", "CAREPLANS_DATABASE_URL": "postgresql://u@h/db"})
    assert s.port == 8123 and s.database_url.startswith("postgresql+psycopg://") and not s.secure_cookies
    assert len(s.secret_key) >= 32


def test_unknown_unavailable_option_is_refused_at_start():
    with pytest.raises(ConfigurationError, match="heroin"):
        Settings.from_env({"CAREPLANS_UNAVAILABLE_OPTIONS": "hat,heroin"})
    assert Settings.from_env({"CAREPLANS_UNAVAILABLE_OPTIONS": "hat"}).unavailable_options == frozenset({"hat"})
