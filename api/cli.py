"""The `careplans` command: serve, demo, create-user, db upgrade/downgrade, audit verify."""

from __future__ import annotations

import json
import sys

import click

from api.settings import ConfigurationError, Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc


def _session(settings: Settings):
    from sqlalchemy.orm import Session

    from careplans.db import make_engine

    return Session(make_engine(settings.database_url), expire_on_commit=False)


@click.group()
def main() -> None:
    """careplans: co-produced care plan records."""


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations (safe to run repeatedly)."""
    from careplans.db import upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    click.echo(f"database is at {revision}")


@db.command("downgrade")
@click.option("--revision", default="base")
def db_downgrade(revision: str) -> None:
    from careplans.db import downgrade

    downgrade(_settings().database_url, revision)
    click.echo(f"database is at {revision}")


@main.command()
def demo() -> None:
    """Load the demo accounts and plans (once; never in production)."""
    from careplans.demo import DEMO_PASSWORD, demo_logins, load_demo

    settings = _settings()
    if settings.production:
        raise click.ClickException("Demo data is never loaded when CAREPLANS_ENV=production.")
    with _session(settings) as session:
        created = load_demo(session)
        session.commit()
    click.echo("demo data loaded" if created else "demo data already present")
    click.echo(f"demo logins (password: {DEMO_PASSWORD}):")
    for username, role in demo_logins():
        click.echo(f"  {username:18} {role}")


@main.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(["client", "keyworker", "clinician", "auditor", "admin"]), required=True)
@click.option("--display-name", required=True)
@click.option("--home-office-licence", default=None, help="For clinicians licensed to prescribe diamorphine.")
@click.password_option(envvar="CAREPLANS_NEW_PASSWORD")
def create_user(username: str, role: str, display_name: str, home_office_licence: str | None, password: str) -> None:
    """Create an account. The password is prompted for (or read from CAREPLANS_NEW_PASSWORD)."""
    from careplans.errors import DomainError
    from careplans.services.accounts import create_user as create

    settings = _settings()
    with _session(settings) as session:
        try:
            user = create(session, username, password, role, display_name, home_office_licence)
        except DomainError as exc:
            raise click.ClickException(exc.detail) from exc
        session.commit()
        click.echo(f"created {role} {username} ({user.id})")


@main.command()
@click.argument("username")
def unlock(username: str) -> None:
    """Clear a person's login delays so they can try again now (recorded in the audit log)."""
    from careplans.audit import Actor
    from careplans.errors import DomainError
    from careplans.services.accounts import unlock as clear

    with _session(_settings()) as session:
        try:
            cleared = clear(session, Actor(None, "operator"), username)
        except DomainError as exc:
            raise click.ClickException(exc.detail) from exc
        session.commit()
    click.echo(f"{username} can try to log in again now ({cleared} delays cleared)")


@main.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain and check every plan version; exit 1 if anything is wrong."""
    from careplans.audit import verify

    with _session(_settings()) as session:
        result = verify(session)
    click.echo(json.dumps(result.as_dict(), indent=2))
    sys.exit(0 if result.ok else 1)


@main.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--workers", type=int, default=1)
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the app with uvicorn (CAREPLANS_HOST / CAREPLANS_PORT)."""
    import uvicorn

    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    click.echo(f"careplans on http://{host}:{port}  (database: {settings.database_url.split('@')[-1]})")
    uvicorn.run("api.asgi:app", host=host, port=port, workers=workers, log_level="info",
                proxy_headers=False, server_header=False)


if __name__ == "__main__":  # pragma: no cover
    main()
