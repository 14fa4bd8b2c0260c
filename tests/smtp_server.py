"""A small SMTP server for the tests and benchmarks: it records what it is sent, can
refuse recipients, can hold its greeting back or delay it (a hanging or slow server),
and can run a check while a message is being received (what the deliverer holds open
while it sends)."""

import email
import email.policy
import socket
import socketserver
import threading
import time
from collections.abc import Callable


def closed_port() -> int:
    """A local port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

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
                self._say("250-fake.example\r\n250-8BITMIME\r\n250 SMTPUTF8")
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
                 greeting_delay: float = 0.0):
        self.lock = threading.Lock()
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
