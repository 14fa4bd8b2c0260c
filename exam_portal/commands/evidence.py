"""`flask --app exam_portal evidence purge`: delete registration documents kept longer
than EVIDENCE_RETENTION_DAYS after their session's exam."""

import click
from flask import current_app
from flask.cli import AppGroup

from exam_portal.extensions import db
from exam_portal.models.types import utcnow

evidence_cli = AppGroup("evidence", help="Registration evidence: documents and ID photos.")


@evidence_cli.command("purge")
@click.option("--yes", "confirmed", is_flag=True,
              help="Delete them. Without it, only list what would be deleted.")
@click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 5000),
              help="Documents deleted per transaction.")
def purge(confirmed, batch):
    """Delete the documents (files and rows) of registrations whose session's exam ended
    more than EVIDENCE_RETENTION_DAYS days ago. Lists them first; deletes only with
    --yes, in batches, each audited and committed before its files are removed (a
    file that cannot be removed is named, and the command exits 1). Registrations,
    results and certificates stay; ID photos are the candidates' own and stay too."""
    from exam_portal.services.exam_sessions import evidence
    from exam_portal.services.platform import file_store

    days = current_app.config["EVIDENCE_RETENTION_DAYS"]
    found = evidence.expired(utcnow(), days)
    db.session.rollback()
    if not found:
        click.echo(f"no documents kept longer than {days} days after their exam")
        return
    for item in found:
        click.echo(f"session {item.session.id} ({item.session.name}, exam ended "
                   f"{item.session.exam_closes_at:%Y-%m-%d}): {item.documents} documents, "
                   f"{item.size_bytes} bytes")
    total = sum(item.documents for item in found)
    if not confirmed:
        click.echo(f"{total} documents would be deleted (dry run: add --yes to delete them)")
        return
    store, deleted, failed = file_store.current(), 0, []
    for item in found:
        session = db.session.merge(item.session)
        while keys := evidence.purge_batch(session, days=days, limit=batch):
            db.session.commit()
            for key in keys:
                try:
                    store.delete(key)
                except Exception as error:  # noqa: BLE001 - named below, the rest go on
                    failed.append(f"{key}: {error}")
            deleted += len(keys)
            click.echo(f"  session {session.id}: {deleted}/{total} documents deleted")
    click.echo(f"{deleted} documents deleted")
    if failed:
        for line in failed:
            click.echo(f"file not removed, delete it by hand: {line}", err=True)
        raise SystemExit(1)
