"""`flask --app exam_portal backup create|restore PATH`: back up the live database and
restore a backup into an empty one (exam_portal/backup.py)."""

from pathlib import Path

import click
from flask.cli import AppGroup

backup_cli = AppGroup("backup", help="Back up the database while the portal runs; restore.")


@backup_cli.command("create")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def create_backup(path):
    """Back up the database of DATABASE_URL to PATH, a new file in an existing folder,
    while the portal keeps running: SQLite by its online backup API (a consistent copy,
    checked with PRAGMA integrity_check), PostgreSQL by pg_dump in its custom format (one
    snapshot). The file holds password hashes, encrypted IDs and e-mail addresses: only
    its owner may read it (mode 0600)."""
    from exam_portal.extensions import db
    from exam_portal.services.platform import backup

    try:
        made = backup.create(db.engine.url, path)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{made.kind} backup written to {made.path} ({made.size:,} bytes)")


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True,
              help="Replace a target database that already holds tables: SQLite becomes "
                   "a copy of the backup; PostgreSQL drops every table in the public "
                   "schema (and what depends on them) in the restore's transaction.")
def restore_backup(path, force):
    """Restore the backup at PATH into the database of DATABASE_URL, which must be empty
    (a new SQLite file, or a PostgreSQL database made with createdb) unless --force.
    PostgreSQL restores with pg_restore and psql in one transaction; ownership and grants
    are not restored (--no-owner, --no-acl): the user of DATABASE_URL owns every object,
    and other roles need their grants again. Stop the portal first."""
    from exam_portal.extensions import db
    from exam_portal.services.platform import backup

    url = db.engine.url
    db.engine.dispose()  # no pooled connection of ours holds the target meanwhile
    try:
        kind = backup.restore(path, url, force=force)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{kind} backup {path} restored into {url.render_as_string()}; "
               "check it with `flask --app exam_portal audit verify --checkpoints DIR` "
               "(it names the checkpoints whose events the restored log no longer has)")
