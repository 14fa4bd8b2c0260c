"""Command-line tools: `flask --app exam_portal demo|users|audit ...`."""

import click
from flask import Flask
from flask.cli import AppGroup

from .extensions import db
from .models.accounts import Role
from .services import ServiceError, accounts, audit

demo_cli = AppGroup("demo", help="Demonstration data.")
users_cli = AppGroup("users", help="Manage accounts.")
audit_cli = AppGroup("audit", help="The audit log.")


@demo_cli.command("seed")
def seed_demo():
    """Create the demo accounts and profiles (safe to run again)."""
    from . import demo

    created = demo.seed()
    db.session.commit()
    click.echo(f"demo data ready ({created} new accounts)")
    bank = demo.seed_bank()
    db.session.commit()
    click.echo("demo item bank: {create} new, {update} updated, {unchanged} unchanged, "
               "{approved} approved".format(**bank))
    for login in demo.DEMO_LOGINS:
        click.echo(f"  {login.role:<9} {login.email:<32} {login.password}  {login.note}")


@users_cli.command("create-admin")
@click.argument("email")
@click.password_option(help="The new administrator's password (prompted if omitted).")
def create_admin(email, password):
    """Create an administrator account."""
    try:
        accounts.create_staff(email, password, Role.ADMIN, actor=None)
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"administrator {accounts.normalise_email(email)} created")


@audit_cli.command("verify")
def verify_audit():
    """Check the audit log's hash chain; exit 1 if a row was changed or removed."""
    report = audit.verify_chain()
    if report.is_intact:
        click.echo(f"audit log intact: {report.count} events, head {report.head_hash}")
        return
    click.echo(
        f"audit log BROKEN at event {report.broken_at}: {report.reason} "
        f"({report.count} events read)",
        err=True,
    )
    raise SystemExit(1)


def register_commands(app: Flask) -> None:
    for group in (demo_cli, users_cli, audit_cli):
        app.cli.add_command(group)
