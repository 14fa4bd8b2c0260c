"""Simulated candidates for the load runs: a small asyncio HTTP client and the
candidate's behaviour, which follows the delivery page's script (static/js/attempt.js).

One process, one event loop, one coroutine pair per candidate (the answering and the
sending, as in the browser). Every request opens its own connection (gunicorn's sync
workers close it after each answer), so a killed worker or a restarted database shows
up here exactly as a browser would see it: a reset connection, a 5xx, a 503.

Each candidate keeps two ledgers: every save it sent (position, seq, answer) and every
save the server acknowledged (a 2xx whose JSON says "saved", which the portal sends
only after the commit). run.py compares the database with them after the run.
"""

import asyncio
import json
import random
import re
import time
import urllib.parse
from dataclasses import dataclass, field

REQUEST_TIMEOUT = 30.0  # a browser's fetch waits longer; a hung request counts as failed
RETRY_SECONDS = 3.0  # attempt.js scheduleRetry
CLOCK_SECONDS = 60.0  # attempt.js syncClock
USER_AGENT = "bench-load/1"


class Refused(Exception):
    """A step the candidate cannot go on from (after its retries)."""


@dataclass
class Answer:
    status: int  # 0: no answer (connection refused, reset, timed out)
    headers: dict
    body: bytes
    error: str | None = None

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> dict:
        try:
            value = json.loads(self.body)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


class Stats:
    """Latency and outcome of every request, by endpoint (shared by all candidates)."""

    def __init__(self):
        self.samples: dict[str, list[tuple[float, float, int]]] = {}  # (end, ms, status)

    def add(self, endpoint: str, started: float, status: int) -> None:
        now = time.monotonic()
        self.samples.setdefault(endpoint, []).append((now, (now - started) * 1000, status))


class Servers:
    """Where requests go: one port, or several behind a load balancer without
    stickiness (every request to a random one)."""

    def __init__(self, ports: list[int], host: str = "127.0.0.1"):
        self.ports, self.host = ports, host

    def pick(self) -> int:
        return random.choice(self.ports)  # noqa: S311 - spreading load, not a secret


async def http(servers: Servers, method: str, path: str, *, body: bytes | None = None,
               headers: dict | None = None) -> Answer:
    port = servers.pick()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {servers.host}:{port}",
             f"User-Agent: {USER_AGENT}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body is not None or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body or b'')}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
    writer = None
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            reader, writer = await asyncio.open_connection(servers.host, port)
            writer.write(raw)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            status = int(status_line.split()[1])
            found: dict[str, list[str]] = {}
            for line in header_lines:
                if ":" in line:
                    name, value = line.split(":", 1)
                    found.setdefault(name.strip().lower(), []).append(value.strip())
            length = found.get("content-length")
            if length is not None:
                content = await reader.readexactly(int(length[0]))
            else:
                content = await reader.read()
                if "chunked" in ",".join(found.get("transfer-encoding", [])):
                    content = _unchunk(content)
            return Answer(status, found, content)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
            ValueError, IndexError) as error:
        return Answer(0, {}, b"", type(error).__name__)
    finally:
        if writer is not None:
            writer.close()


def _unchunk(data: bytes) -> bytes:
    out, rest = bytearray(), data
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        rest = rest[size + 2:]
    return bytes(out)


CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ATTEMPT_DATA = re.compile(r'<script type="application/json" id="attempt-data">(.*?)</script>',
                          re.S)
PAPER_URL = re.compile(r'id="paper"[^>]*data-url="([^"]+)"')
QUESTION = re.compile(r'<article class="question"[^>]*data-position="(\d+)" data-type="(\w+)"'
                      r'(.*?)</article>', re.S)
OPTION = re.compile(r'name="answer-\d+" value="([A-E])"')
ATTEMPT_LOCATION = re.compile(r"/practice/attempts/(\d+)")


@dataclass
class Plan:
    """What every candidate of a run does."""

    servers: Servers
    password: str
    ends_at: float  # monotonic: stop answering and hand in (less the candidate's jitter)
    think: tuple[float, float] = (5.0, 10.0)  # seconds between answer changes
    login_spread: float = 60.0  # logins spread over the first minute (LD-3's storm)
    submit_spread: float = 20.0  # hand-ins spread over the last seconds (0: all at once)
    revisit: float = 0.2  # share of answer changes that revise an earlier answer
    deadline_mode: bool = False  # runs 5, 8: hand in as the page does at time-up
    save_through_hand_in: int = 0  # run 7: connections that keep saving during the hand-in
    gate: asyncio.Event | None = None  # runs 5, 8: answering starts once every paper is open
    subject: str = "COMP_MID"
    sitting: bool = False  # run 8: the subject's exam paper (the locked form), not a mock


@dataclass
class Candidate:
    number: int
    email: str
    plan: Plan
    stats: Stats
    cookies: dict = field(default_factory=dict)
    csrf: str = ""
    attempt_id: int | None = None
    device: str | None = None
    questions: dict = field(default_factory=dict)  # position -> (type, letters)
    seq: int = 0
    queue: dict = field(default_factory=dict)  # position -> payload (attempt.js `queue`)
    sent: list = field(default_factory=list)  # every PUT: (position, seq, selected, flagged)
    acked: list = field(default_factory=list)  # every acknowledged save, same shape
    outcomes: dict = field(default_factory=dict)  # counted events ("stale", "login_429", …)
    submitted: str | None = None  # how the hand-in was answered
    submit_sent_at: float | None = None
    submit_done_at: float | None = None
    failure: str | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def count(self, what: str) -> None:
        self.outcomes[what] = self.outcomes.get(what, 0) + 1

    # Requests ---------------------------------------------------------------------

    def _cookie_header(self) -> dict:
        if not self.cookies:
            return {}
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def _take_cookies(self, answer: Answer) -> None:
        for line in answer.headers.get("set-cookie", []):
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if "expires=thu, 01 jan 1970" in line.lower() or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    async def request(self, endpoint: str, method: str, path: str, *, form: dict | None = None,
                      payload=None, json_call: bool = False) -> Answer:
        headers = self._cookie_header()
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_call:
            body = b"" if payload is None else json.dumps(payload).encode()
            headers.update({"Content-Type": "application/json", "Accept": "application/json",
                            "X-CSRFToken": self.csrf})
        started = time.monotonic()
        answer = await http(self.plan.servers, method, path, body=body, headers=headers)
        self.stats.add(endpoint, started, answer.status)
        self._take_cookies(answer)
        return answer

    async def until_ok(self, endpoint: str, method: str, path: str, accept, **kwargs) -> Answer:
        """Send again after RETRY_SECONDS until *accept(answer)*; a person would
        reload. Gives up at the end of the run."""
        while True:
            answer = await self.request(endpoint, method, path, **kwargs)
            if accept(answer):
                return answer
            self.count(f"{endpoint}_{answer.status or answer.error}")
            if time.monotonic() > self.plan.ends_at + 120:
                raise Refused(f"{endpoint} answered {answer.status} {answer.error or ''}")
            await asyncio.sleep(RETRY_SECONDS)

    # The sitting --------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await asyncio.sleep(random.uniform(0, self.plan.login_spread))  # noqa: S311
            await self.log_in()
            await self.start_paper()
            await self.open_attempt()
            if self.plan.gate is not None:
                await self.plan.gate.wait()
            sender = asyncio.create_task(self.sender())
            clock = asyncio.create_task(self.clock())
            await self.answer()
            clock.cancel()
            await self.drain()
            sender.cancel()
            if self.plan.save_through_hand_in:
                await self.save_through_hand_in(self.plan.save_through_hand_in)
            else:
                await self.hand_in()
        except Refused as error:
            self.failure = str(error)
        except asyncio.CancelledError:
            self.failure = "cancelled"
            raise

    async def log_in(self) -> None:
        page = await self.until_ok("login_page", "GET", "/auth/login",
                                   lambda a: a.status == 200)
        csrf = CSRF_INPUT.search(page.text()).group(1)

        def accept(answer):
            if answer.status == 429:
                self.count("login_429")
            return answer.status == 302

        await self.until_ok("login", "POST", "/auth/login", accept, form={
            "email": self.email, "password": self.plan.password, "next": "",
            "csrf_token": csrf})

    async def start_paper(self) -> None:
        """Start the paper (a mock, or the exam sitting), then load the delivery page
        and the questions, as the browser does after the start's redirect."""
        location = await (self.start_sitting() if self.plan.sitting else self.start_mock())
        self.attempt_id = int(ATTEMPT_LOCATION.search(location).group(1))
        page = await self.until_ok("page", "GET", f"/practice/attempts/{self.attempt_id}",
                                   lambda a: a.status == 200)
        html = page.text()
        self.csrf = CSRF_INPUT.search(html).group(1)
        data = json.loads(ATTEMPT_DATA.search(html).group(1))
        self.urls = data["urls"]
        paper_url = PAPER_URL.search(html).group(1).replace("&amp;", "&")
        paper = await self.until_ok("paper", "GET", paper_url, lambda a: a.status == 200)
        for position, kind, inner in QUESTION.findall(paper.text()):
            self.questions[int(position)] = (kind, OPTION.findall(inner))
        if not self.questions:
            raise Refused("the paper has no questions")

    async def start_mock(self) -> str:
        subject = self.plan.subject
        page = await self.until_ok("choose", "GET", f"/practice/subjects/{subject}",
                                   lambda a: a.status == 200)
        csrf = CSRF_INPUT.search(page.text()).group(1)
        started = await self.until_ok(
            "start", "POST", f"/practice/subjects/{subject}/start", _to_attempt,
            form={"csrf_token": csrf, "mode": "MOCK", "variant": ""})
        return started.headers["location"][0]

    async def start_sitting(self) -> str:
        """Run 8: the candidate's exams page (/exams) and its 开始考试 form for the
        subject; sent again after a lost answer it resumes the same paper."""
        page = await self.until_ok("exams", "GET", "/exams", lambda a: a.status == 200)
        html = page.text()
        form = re.search(r'action="(/exams/registrations/\d+/subjects/'
                         + re.escape(self.plan.subject) + r'/start)"', html)
        if form is None:
            raise Refused(f"/exams offers no start of {self.plan.subject}")
        started = await self.until_ok("start", "POST", form.group(1), _to_attempt,
                                      form={"csrf_token": CSRF_INPUT.search(html).group(1)})
        return started.headers["location"][0]

    async def open_attempt(self) -> None:
        answer = await self.until_ok("open", "POST", self.urls["open"],
                                     lambda a: a.status == 200 and a.json().get("device"),
                                     json_call=True)
        state = answer.json()
        self.device = state["device"]
        self.seq = max(self.seq, state.get("max_seq") or 0)

    async def answer(self) -> None:
        """Change an answer every few seconds until the end (less this candidate's
        jitter): mostly the next unanswered question, sometimes an earlier one."""
        rng = random.Random(self.number)  # noqa: S311 - simulated behaviour
        jitter = 0 if self.plan.deadline_mode else rng.uniform(0, self.plan.submit_spread)
        positions = sorted(self.questions)
        answered: list[int] = []
        while True:
            pause = rng.uniform(*self.plan.think)
            stop = self.plan.ends_at - jitter  # run 6 sets the end while they answer
            if time.monotonic() + pause >= stop:
                await asyncio.sleep(max(0.0, stop - time.monotonic()))
                return
            await asyncio.sleep(pause)
            unanswered = [p for p in positions if p not in answered]
            if answered and (not unanswered or rng.random() < self.plan.revisit):
                position = rng.choice(answered)
            else:
                position = unanswered[0]
                answered.append(position)
            kind, letters = self.questions[position]
            if kind == "MULTI":
                chosen = sorted(rng.sample(letters, rng.randint(1, min(3, len(letters)))))
            else:
                chosen = [rng.choice(letters)]
            self.record(position, chosen, flagged=rng.random() < 0.05)

    def record(self, position: int, selected: list[str], *, flagged: bool) -> None:
        self.seq += 1
        self.queue[position] = {"seq": self.seq, "selected": selected, "flagged": flagged}
        self.wake.set()

    async def sender(self) -> None:
        """attempt.js flush(): send the queued answers one after another; on a failure
        wait RETRY_SECONDS and send them again."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            if not await self.flush():
                await asyncio.sleep(RETRY_SECONDS)
                self.wake.set()

    async def flush(self) -> bool:
        for position in list(self.queue):
            payload = self.queue.get(position)
            if payload is None:
                continue
            body = {"seq": payload["seq"], "flagged": payload["flagged"],
                    "device": self.device, "selected": payload["selected"]}
            self.sent.append((position, payload["seq"], tuple(payload["selected"]),
                              payload["flagged"]))
            answer = await self.request("save", "PUT", _position_url(self.urls["save"], position),
                                        payload=body, json_call=True)
            reply = answer.json()
            code = reply.get("code")
            if answer.status // 100 == 2 and reply.get("saved") is True:
                self.acked.append((position, payload["seq"], tuple(payload["selected"]),
                                   payload["flagged"]))
            elif answer.status == 409 and code in ("stale", "locked"):
                self.count(f"save_409_{code}")
            elif answer.status in (400, 404, 401) or answer.status == 409:
                self.count(f"save_{answer.status}_{code or ''}")
                if answer.status == 409 and code in ("superseded", "closed"):
                    self.queue.clear()
                    return True
                if answer.status == 401:
                    return True
            else:
                self.count(f"save_retry_{answer.status or answer.error}")
                return False
            if self.queue.get(position) is payload:
                del self.queue[position]
        return True

    async def drain(self) -> None:
        """Send what is still queued before handing in (the page refuses to hand in
        with unsent answers; here it tries until the grace has surely passed)."""
        limit = time.monotonic() + 90
        while self.queue and time.monotonic() < limit:
            if not await self.flush():
                await asyncio.sleep(RETRY_SECONDS if not self.plan.deadline_mode else 1.0)
        if self.queue:
            self.count("unsent_at_hand_in")

    async def clock(self) -> None:
        while True:
            await asyncio.sleep(CLOCK_SECONDS)
            await self.request("clock", "GET", self.urls["clock"], json_call=True)

    async def hand_in(self) -> None:
        self.submit_sent_at = time.time()
        if self.plan.deadline_mode:  # attempt.js timeUp(): POST submit as JSON
            answer = await self.until_ok(
                "submit", "POST", self.urls["submit"],
                lambda a: a.status == 200 or (a.status == 409 and a.json().get("code")
                                              == "closed"), payload={}, json_call=True)
        else:  # the submit form
            answer = await self.until_ok(
                "submit", "POST", self.urls["submit"],
                lambda a: a.status == 302 and "/result" in a.headers.get("location", [""])[0],
                form={"csrf_token": self.csrf})
        self.submit_done_at = time.time()
        self.submitted = f"{answer.status} {answer.json().get('code') or ''}".strip()
        await self.until_ok("result", "GET", self.urls["result"], lambda a: a.status == 200)


    async def save_through_hand_in(self, connections: int) -> None:
        """Run 7: keep changing answers (new positions and earlier ones) from several
        connections at once while the paper is handed in, each until the server says
        the paper is closed; acknowledged saves go to the ledger like any other."""
        rng = random.Random(-self.number - 1)  # noqa: S311 - simulated behaviour
        positions = sorted(self.questions)

        async def keep_saving() -> None:
            while True:
                position = rng.choice(positions)
                kind, letters = self.questions[position]
                size = rng.randint(1, min(3, len(letters))) if kind == "MULTI" else 1
                chosen = sorted(rng.sample(letters, size))
                self.seq += 1
                body = {"seq": self.seq, "flagged": False, "device": self.device,
                        "selected": chosen}
                self.sent.append((position, self.seq, tuple(chosen), False))
                answer = await self.request("save_at_hand_in", "PUT",
                                            _position_url(self.urls["save"], position),
                                            payload=body, json_call=True)
                reply = answer.json()
                if answer.status // 100 == 2 and reply.get("saved") is True:
                    self.acked.append((position, body["seq"], tuple(chosen), False))
                elif answer.status == 409 and reply.get("code") == "closed":
                    self.count("save_409_closed_at_hand_in")
                    return
                elif answer.status == 409:
                    self.count(f"save_409_{reply.get('code')}_at_hand_in")
                elif time.monotonic() > self.plan.ends_at + 120:
                    raise Refused(f"a save at the hand-in answered {answer.status}")

        savers = [asyncio.create_task(keep_saving()) for _ in range(connections)]
        await asyncio.sleep(rng.uniform(0.0, 0.5))
        try:
            await self.hand_in()
        finally:
            await asyncio.gather(*savers)


def _to_attempt(answer: Answer) -> bool:
    """A start's answer: the redirect to the delivery page of the paper."""
    return answer.status == 302 and "/practice/attempts/" in answer.headers.get(
        "location", [""])[0]


def _position_url(template: str, position: int) -> str:
    """attempt.js url(): the template's /0 segment becomes the position."""
    return re.sub(r"/0(/|$)", lambda m: f"/{position}{m.group(1)}", template, count=1)
