"""`flask --app exam_portal certificates verify FILE`: check an offline credential
without the database, with a published key set or the configured keys."""

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from question_bank import credentials as offline

certificates_cli = AppGroup("certificates", help="Certificates and their offline credentials.")


@certificates_cli.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--keys", "keys_source", metavar="JWKS_FILE_OR_URL",
              help="A JWK Set file, or its URL (e.g. https://portal.example/.well-known/"
                   "exam-portal-keys.json). Default: the public parts of CERT_SIGNING_KEYS.")
def verify_credential(path, keys_source):
    """Check a downloaded credential (.jwt) offline: its EdDSA signature against the
    keys, and its Open Badges 3.0 claims. Prints the holder, level, number, issuer and
    key id, then VALID (exit 0) or INVALID with the reason (exit 1). Revocation cannot
    be known offline: the verify page the credential names is the authority on it."""
    from exam_portal.services import ServiceError
    from exam_portal.services.certification import certificates, credentials

    try:
        keys = credentials.read_key_set(keys_source) if keys_source \
            else certificates.public_keys()
    except (ValueError, ServiceError) as error:
        raise click.ClickException(f"no keys to check with: {error} (use --keys)") from error
    with click.open_file(path, "rb") as stream:
        data = stream.read(offline.MAX_TOKEN_LENGTH + 1)
    try:
        token = data.decode("ascii").strip()
    except UnicodeDecodeError:
        token = ""
    result = offline.verify(token, keys, now=datetime.now(UTC))
    if not result.is_valid:
        key = f" (key {result.key_id})" if result.key_id else ""
        click.echo(f"INVALID: {result.reason.value}{key}", err=True)
        raise SystemExit(1)
    for label, value in credentials.summary(result.payload):
        click.echo(f"{label + ':':<14}{value}")
    click.echo(f"{'key id:':<14}{result.key_id}")
    status = (result.payload.get("credentialStatus") or {}).get("id", "")
    click.echo(f"VALID (revocation is not known offline: see {status})")
