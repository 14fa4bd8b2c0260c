"""`flask --app exam_portal notifications sweep`: the daily sweep of time-driven
notices (reminders before the exam, fees due and lapsed, tickets, today's review)."""

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from exam_portal.extensions import db
from exam_portal.models.types import utcnow
from exam_portal.services.platform import notifications

notifications_cli = AppGroup("notifications", help="Notifications: the daily sweep.")


@notifications_cli.command("sweep")
@click.option("--now", "at", help="Sweep as at this UTC time (YYYY-MM-DDTHH:MM), e.g. to "
              "catch up a missed day. Default: now.")
def sweep(at):
    """Send the time-driven notices that are due (for cron, once a day; safe to run
    again: nobody is told the same event twice). Exits 1 if a source failed."""
    now = utcnow()
    if at:
        try:
            now = datetime.fromisoformat(at).replace(tzinfo=UTC)
        except ValueError as error:
            raise click.BadParameter("use YYYY-MM-DDTHH:MM (UTC)", param_hint="--now") from error
    outcome = notifications.sweep(now)
    db.session.commit()
    for name, result in outcome.items():
        click.echo(f"{name}: {result}")
    if "failed" in outcome.values():
        raise SystemExit(1)
