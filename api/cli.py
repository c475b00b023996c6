"""The `careplans` command: serve, demo, create-user, db upgrade/downgrade, audit verify."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Iterator

import click

from api.settings import ConfigurationError, Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def _session(settings: Settings) -> Iterator:
    """A database session; its engine (and every connection) is closed afterwards."""
    from sqlalchemy.orm import Session

    from careplans.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


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
@click.option("--plans", "plans", type=click.IntRange(0, 10_000_000), default=0,
              help="Also generate this many realistic varied plans in bulk (for reports at scale).")
@click.option("--seed", type=int, default=1, help="Seed for the generated plans (same seed, same plans).")
def demo(plans: int, seed: int) -> None:
    """Load the demo accounts and plans (once; never in production)."""
    from careplans.demo import DEMO_PASSWORD, demo_logins, load_demo

    settings = _settings()
    if settings.production:
        raise click.ClickException("Demo data is never loaded when CAREPLANS_ENV=production.")
    with _session(settings) as session:
        created = load_demo(session)
        session.commit()
        if plans:
            from careplans.demo_bulk import generate

            with click.progressbar(length=plans, label=f"generating {plans:,} plans") as bar:
                generate(session, plans, seed=seed, progress=bar.update)
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
@click.option("--anchor", "anchor_file", type=click.Path(dir_okay=False), default=None,
              help="A file of anchors from `careplans audit anchor`: also check each is still in the chain.")
def audit_verify(anchor_file: str | None) -> None:
    """Recompute the hash chain and check every plan version; exit 1 if anything is wrong."""
    from careplans.audit import verify, verify_anchors

    with _session(_settings()) as session:
        result = verify(session)
        if result.ok and anchor_file:
            anchors = _read_anchors(anchor_file)
            result = verify_anchors(session, anchors) or result
            if result.ok:
                click.echo(f"{len(anchors)} anchors checked", err=True)
    click.echo(json.dumps(result.as_dict(), indent=2))
    sys.exit(0 if result.ok else 1)


def _read_anchors(path: str) -> list[dict]:
    from pathlib import Path

    file = Path(path)
    if not file.exists():
        raise click.ClickException(f"{path} does not exist: make anchors with `careplans audit anchor --file {path}`.")
    anchors = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            int(item["seq"]), str(item["hash"])
        except (ValueError, KeyError, TypeError):
            raise click.ClickException(f"{path} line {number} is not an anchor.") from None
        anchors.append(item)
    return anchors


@audit.command("anchor")
@click.option("--file", "anchor_file", type=click.Path(dir_okay=False), default=None,
              help="Append the anchor to this file (one JSON line each); without it, print it.")
def audit_anchor(anchor_file: str | None) -> None:
    """Write down the audit chain's head (sequence, hash, time) outside the database.

    Keep the file somewhere the database's administrators cannot rewrite (another machine,
    write-once storage); `careplans audit verify --anchor FILE` then detects the newest
    events being deleted and the head rewound.
    """
    import os

    from careplans.audit import anchor

    with _session(_settings()) as session:
        item = anchor(session)
    line = json.dumps(item, sort_keys=True)
    if anchor_file:
        fd = os.open(anchor_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
    click.echo(line)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False))
def backup(path: str) -> None:
    """Back up the database to PATH, consistent while the service runs.

    SQLite: the online backup API (a copy of one moment, pages copied in steps). PostgreSQL:
    pg_dump in custom format (one snapshot), for `careplans restore`.
    """
    from careplans.backup import backup as run

    def progress(done: int, total: int) -> None:
        click.echo(f"\rbacking up: {done}/{total}", nl=False, err=True)

    summary = run(_settings().database_url, path, progress=progress)
    click.echo("", err=True)
    click.echo(f"backed up to {path}: {summary}")


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
def restore(path: str, force: bool) -> None:
    """Restore a backup from PATH into CAREPLANS_DATABASE_URL (refused if it holds data, unless --force)."""
    from careplans.backup import RestoreRefused, restore as run

    def progress(done: int, total: int) -> None:
        click.echo(f"\rrestoring: {done}/{total}", nl=False, err=True)

    try:
        summary = run(_settings().database_url, path, force=force, progress=progress)
    except RestoreRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("", err=True)
    click.echo(f"restored from {path}: {summary}")


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
