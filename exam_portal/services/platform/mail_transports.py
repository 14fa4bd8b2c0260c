"""How a composed message leaves the portal: printed (development), kept in the outbox
only (tests), or sent by SMTP; and what the outbox keeps of a failure."""

import smtplib
import ssl
import sys
from email.message import EmailMessage

from flask import current_app

# Failures ----------------------------------------------------------------------------

def is_permanent(error: BaseException) -> bool:
    """The server refused this message for good (5xx for its recipient or its content):
    sending it again would be refused again."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPDataError):
        return error.smtp_code >= 500
    return False


def ends_the_run(error: BaseException) -> bool:
    """The server, or the way to it, failed: every other message would fail the same
    way (each after its own timeout), so they wait for the next run."""
    return not isinstance(error, smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError)


def _reply_text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def describe_error(error: BaseException) -> str:
    """What went wrong, for the outbox row and the log: the kind of failure and the
    server's reply, with the SMTP user name and password taken out (a server may echo
    what it was sent)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = sorted({f"{code} {_reply_text(text)}"
                          for code, text in error.recipients.values()})
        text = "SMTPRecipientsRefused: " + "; ".join(replies)
    elif isinstance(error, smtplib.SMTPResponseException):
        text = f"{type(error).__name__}: {error.smtp_code} {_reply_text(error.smtp_error)}"
    elif isinstance(error, OSError):
        text = f"{type(error).__name__}: {error.strerror or error}"
    else:
        text = f"{type(error).__name__}: {error}"
    config = current_app.config
    for secret in (config.get("SMTP_PASSWORD"), config.get("SMTP_USERNAME")):
        if secret:
            text = text.replace(secret, "[redacted]")
    return text[:300]


# Transports --------------------------------------------------------------------------

class _Console:
    """Development: the message is printed, not logged, so the logs stay free of links."""

    def send(self, message: EmailMessage) -> None:
        print(f"--- mail to {message['To']}: {message['Subject']}\n"
              f"{message.get_content()}---", file=sys.stderr)

    def close(self) -> None:
        pass


class _OutboxOnly:
    """Tests, or a relay that reads the table: composed and kept, sent by nobody."""

    def send(self, message: EmailMessage) -> None:
        pass

    def close(self) -> None:
        pass


class _SMTP:
    """One connection per delivery run, opened at the first message."""

    def __init__(self, config):
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        connection = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"],
                                  timeout=config["SMTP_TIMEOUT_SECONDS"])
        try:
            if config["SMTP_USE_TLS"]:
                # smtplib's default context checks no certificate: anyone on the way could
                # read the password and the reset links. This one checks it (against the
                # system's authorities, or SMTP_CA_FILE for a relay with its own).
                connection.starttls(
                    context=ssl.create_default_context(cafile=config.get("SMTP_CA_FILE")))
            if config.get("SMTP_USERNAME"):
                connection.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
        except BaseException:
            connection.close()
            raise
        return connection

    def send(self, message: EmailMessage) -> None:
        if self.connection is None:
            self.connection = self._connect()
        try:
            self.connection.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError):
            raise  # smtplib has reset the transaction: the connection goes on
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.connection is None:
            return
        connection, self.connection = self.connection, None
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()


def for_backend(config):
    backend = config["MAIL_BACKEND"]
    if backend == "smtp":
        return _SMTP(config)
    if backend == "console":
        return _Console()
    return _OutboxOnly()
