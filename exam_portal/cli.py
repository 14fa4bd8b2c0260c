"""Command-line tools: `flask --app exam_portal demo|users|audit ...`."""

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .extensions import db, no_write_lock
from .models.accounts import Role
from .models.types import utcnow
from .services import ServiceError, accounts, audit, importing

demo_cli = AppGroup("demo", help="Demonstration data.")
users_cli = AppGroup("users", help="Manage accounts.")
audit_cli = AppGroup("audit", help="The audit log.")
bank_cli = AppGroup("bank", help="The item bank: import and export.")
attempts_cli = AppGroup("attempts", help="Practice and mock attempts.")
jobs_cli = AppGroup("jobs", help="Background jobs (results of a session).")


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
    if demo.seed_session(utcnow()):
        db.session.commit()
        click.echo(f"demo exam session open for registration: {demo.DEMO_SESSION_NAME}")
    if demo.seed_exam_in_progress(utcnow()):
        db.session.commit()
        click.echo(f"demo online exam in progress: {demo.DEMO_EXAM_NAME} (assistant@ and "
                   "intermediate@ may sit it; trainers mark under 阅卷)")
    if demo.seed_training(utcnow()):
        db.session.commit()
        click.echo(f"demo training programme: {demo.DEMO_PROGRAMME_NAME} (intermediate@ has "
                   "completed it; administrators issue under 培训项目)")
    key_id = demo.ensure_signing_key(current_app)
    if key_id:
        click.echo(f"development certificate signing key {key_id} written to the instance "
                   "folder (set CERT_SIGNING_KEYS in production)")
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


@bank_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "author_email", required=True, help="Email of the trainer who imports.")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
def import_bank(path, author_email, dry_run):
    """Import items from an XLSX, CSV or JSON file of any size: all or nothing."""
    from pathlib import Path

    from flask_babel import gettext

    author = accounts.find_by_email(author_email)
    if author is None or author.role not in (Role.TRAINER, Role.ADMIN):
        raise click.ClickException(f"{author_email} is not a trainer or administrator account")
    from question_bank.formats import limits

    data = Path(path).read_bytes()
    try:
        # Reading a large file takes seconds: hold no write lock meanwhile (SQLite has
        # one for the whole database), so the portal's writers do not wait for it.
        with no_write_lock():
            records = importing.read_file(path, data, max_items=None,
                                          caps=limits.COMMAND_LINE)
    except ServiceError as error:
        raise click.ClickException(str(error)) from error
    plan = importing.plan_import(records)
    for row in plan.errors[:200]:
        for problem in row.problems:
            click.echo(f"item {row.record.location} [{problem.field}]: {problem.render(gettext)}",
                       err=True)
    counts = {action.value: plan.count(action) for action in importing.Action}
    click.echo("create {create}, update {update}, unchanged {unchanged}, "
               "errors {error}".format(**counts))
    if plan.errors:
        raise click.ClickException("nothing was imported: fix the errors above")
    if dry_run:
        return
    importing.apply_import(plan, author, filename=Path(path).name)
    db.session.commit()
    if plan.count(importing.Action.CREATE) >= 10_000:
        importing.refresh_statistics()
    click.echo("imported")


@bank_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--subject", help="Only this subject, e.g. LAW_MID.")
def export_bank(path, subject):
    """Export the newest version of every item to an XLSX, CSV or JSON file."""
    from pathlib import Path

    try:
        data, refused = importing.export_items(Path(path).suffix.lower(), subject=subject)
    except ServiceError as error:
        raise click.ClickException(str(error)) from error
    Path(path).write_bytes(data)
    for external_id, problem in refused:
        click.echo(f"left out {external_id or '(no external id)'}: {problem.render()}", err=True)
    click.echo(f"exported to {path} ({len(refused)} items left out)")


@attempts_cli.command("expire")
def expire_attempts():
    """Hand in every attempt past its deadline and grace with the answers saved (for cron;
    safe to run again and alongside the portal)."""
    from .models.attempts import EndedBy
    from .models.types import utcnow
    from .services import practice

    now = utcnow()
    finalised = 0
    for attempt_id in practice.overdue_attempt_ids(now=now):
        # One transaction each: a long backlog never holds locks for long, and an
        # attempt a candidate or another sweeper closes first is simply skipped.
        finalised += practice.finalise(attempt_id, now=now, ended_by=EndedBy.DEADLINE)
        db.session.commit()
    click.echo(f"{finalised} overdue attempts handed in")


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def jobs_worker(burst):
    """Run queued jobs from Redis (JOB_RUNNER=rq, the default when REDIS_URL is set)."""
    from .services import jobs

    if current_app.config["JOB_RUNNER"] != "rq":
        raise click.ClickException("JOB_RUNNER is not rq: jobs run inside the portal itself.")
    jobs.work(current_app._get_current_object(), burst=burst)


def register_commands(app: Flask) -> None:
    from .backup_cli import backup_cli
    from .certificate_cli import certificates_cli

    for group in (demo_cli, users_cli, audit_cli, bank_cli, attempts_cli, jobs_cli,
                  certificates_cli, backup_cli):
        app.cli.add_command(group)
