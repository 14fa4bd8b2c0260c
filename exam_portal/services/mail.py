"""Send mail: every message goes to the outbox, then to the console or SMTP."""

import smtplib
import sys
from email.message import EmailMessage

from flask import current_app

from ..extensions import db
from ..models.mail import OutboxMail
from ..models.types import utcnow


def send(to_address: str, subject: str, body: str) -> OutboxMail:
    """Queue a message in the outbox and deliver it with the configured backend."""
    mail = OutboxMail(to_address=to_address, subject=subject, body=body)
    db.session.add(mail)
    db.session.flush()
    backend = current_app.config["MAIL_BACKEND"]
    if backend == "console":
        # Development only: the message is printed, not logged, so the logs stay
        # free of reset links.
        print(f"--- mail to {to_address}: {subject}\n{body}\n---", file=sys.stderr)
        mail.sent_at = utcnow()
    elif backend == "smtp":
        _send_smtp(mail)
        mail.sent_at = utcnow()
    return mail


def _send_smtp(mail: OutboxMail) -> None:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message.set_content(mail.body)
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
        if config["SMTP_USE_TLS"]:
            smtp.starttls()
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
        smtp.send_message(message)
