"""A small SMTP server for the tests and benchmarks: it records what it is sent, can
refuse recipients, can hold its greeting back or delay it (a hanging or slow server),
and can run a check while a message is being received (what the deliverer holds open
while it sends)."""

import email
import email.policy
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable


def closed_port() -> int:
    """A local port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def self_signed_tls(directory) -> tuple[ssl.SSLContext, str]:
    """A server context with a new self-signed certificate for 127.0.0.1, and the path
    of that certificate (to trust it as a CA file)."""
    import datetime
    import ipaddress
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_path = Path(directory) / "smtp-cert.pem"
    key_path = Path(directory) / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context, str(cert_path)


class _Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    secure = False

    def finish(self):
        super().finish()
        if self.secure:  # the TLS socket took the connection over from the server's one
            self.connection.close()

    def handle(self):
        fake: FakeSMTP = self.server.fake
        with fake.lock:
            fake.connections += 1
        if not fake.release.wait(timeout=30):
            return
        if fake.greeting_delay:
            time.sleep(fake.greeting_delay)
        self._say("220 fake.example ESMTP")
        recipients: list[str] = []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode(errors="replace").strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                starttls = "250-STARTTLS\r\n" if fake.tls is not None and not self.secure else ""
                self._say(f"250-fake.example\r\n{starttls}250-8BITMIME\r\n250 SMTPUTF8")
            elif command.upper() == "STARTTLS" and fake.tls is not None:
                self._say("220 ready to start TLS")
                try:
                    self.connection = fake.tls.wrap_socket(self.connection, server_side=True)
                except (ssl.SSLError, OSError):
                    return  # the client refused our certificate
                self.rfile = self.connection.makefile("rb")
                self.wfile = self.connection.makefile("wb")
                self.secure = True
            elif verb == "MAIL":
                recipients = []
                self._say("250 OK")
            elif verb == "RCPT":
                address = command.split(":", 1)[1].strip().strip("<>").split(">")[0]
                if address in fake.refuse:
                    self._say("550 5.1.1 no such mailbox")
                else:
                    recipients.append(address)
                    self._say("250 OK")
            elif verb == "DATA":
                self._say("354 go ahead")
                data = bytearray()
                while True:
                    chunk = self.rfile.readline()
                    if chunk in (b".\r\n", b".\n", b""):
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                if fake.while_receiving is not None:
                    fake.while_receiving()
                message = email.message_from_bytes(bytes(data), policy=email.policy.default)
                with fake.lock:
                    fake.messages.append((tuple(recipients), message))
                self._say("250 queued")
            elif verb in ("RSET", "NOOP"):
                self._say("250 OK")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("502 not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class FakeSMTP:
    """Run as a context manager; `port` is where it listens."""

    def __init__(self, *, hold: bool = False, refuse=(),
                 while_receiving: Callable[[], None] | None = None,
                 greeting_delay: float = 0.0, tls: ssl.SSLContext | None = None):
        self.lock = threading.Lock()
        self.tls = tls  # offers STARTTLS with this server context
        self.greeting_delay = greeting_delay
        self.messages: list[tuple[tuple[str, ...], email.message.EmailMessage]] = []
        self.connections = 0
        self.refuse = set(refuse)
        self.while_receiving = while_receiving
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def __enter__(self):
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fake = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def sent_to(self, address: str) -> list:
        with self.lock:
            return [message for to, message in self.messages if address in to]

    def wait_for(self, count: int, timeout: float = 15.0) -> bool:
        """Wait until *count* messages have arrived (for deliveries in another thread)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return True
            time.sleep(0.02)
        return False
