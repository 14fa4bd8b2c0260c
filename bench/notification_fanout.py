"""Benchmark the "results published" fan-out to a session of 200,000 candidates (issue 21).

    .venv/bin/python bench/notification_fanout.py [--candidates 200000] [--profile]

Builds its own private PostgreSQL database (created, migrated with `flask db upgrade`,
dropped afterwards): an administrator and 200,000 candidates (a third reading English,
1 % with the e-mail of this kind turned off), one exam session and a registration of
each candidate. Then it times the fan-out job as the publish page starts it
(`notices.announce_results`, JOB_RUNNER inline: submit, then per batch of 20,000 users
one INSERT … SELECT … ON CONFLICT DO NOTHING of the notices and a COPY of their outbox
rows, spaced at NOTIFICATION_MAIL_PER_MINUTE, progress committed), and a second run of
the same job (nothing new). Target: enqueued within 60 s.
"""

import argparse
import platform
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bank import ROOT, database, flask  # noqa: E402

NOW = datetime(2026, 6, 20, 2, 0, tzinfo=UTC)


def build(url: str, candidates: int) -> tuple[int, int]:
    import psycopg

    raw = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(raw) as conn, conn.cursor() as cur:
        with cur.copy("COPY users (email, password_hash, role, session_token, locale, "
                      "is_active, created_at, password_changed_at) FROM STDIN") as copy:
            copy.write_row(("bench-admin@example.com", "x", "admin", "t", None, True, NOW, NOW))
            for number in range(candidates):
                copy.write_row((f"c{number}@bench.example.com", "x", "candidate", "t",
                                "en" if number % 3 == 0 else "zh_CN", True, NOW, NOW))
        admin_id = cur.execute("SELECT id FROM users WHERE role = 'admin'").fetchone()[0]
        first_id = admin_id + 1
        opens = datetime(2026, 3, 1, tzinfo=UTC)
        session_id = cur.execute(
            "INSERT INTO exam_sessions (year, name, levels, registration_opens_at, "
            "registration_closes_at, exam_opens_at, exam_closes_at, mode, "
            "syllabus_version, law_cutoff, experience_cutoff, verification_mode, "
            "admission_serial, created_by_id, created_at, results_published_at) VALUES "
            "(2026, '2026 年度考试', '[\"ASSISTANT\"]', %s, %s, %s, %s, 'PAPER', '2025', %s, %s, "
            "'before_exam', 0, %s, %s, %s) RETURNING id",
            (opens, opens + timedelta(days=30), opens + timedelta(days=100),
             opens + timedelta(days=101), date(2025, 12, 31), date(2026, 12, 31), admin_id,
             NOW, NOW)).fetchone()[0]
        with cur.copy("COPY registrations (session_id, candidate_id, level, region, "
                      "route_code, declared_at, status, admission_number) FROM STDIN") as copy:
            for number in range(candidates):
                copy.write_row((session_id, first_id + number, "ASSISTANT", "110000",
                                "A-SW-BACHELOR", NOW, "VERIFIED", f"202611{number:08d}"))
        # Every candidate sat and has a result: the audience of "results published".
        cur.execute("INSERT INTO subject_results (registration_id, candidate_id, year, subject, "
                    "score_halves, full_halves, source, updated_at) "
                    "SELECT id, candidate_id, 2026, 'COMP_JR', 130, 200, 'ONLINE', %s "
                    "FROM registrations WHERE session_id = %s", (NOW, session_id))
        with cur.copy("COPY notification_preferences (user_id, kind, channel, is_on, "
                      "updated_at) FROM STDIN") as copy:
            for number in range(0, candidates, 100):
                copy.write_row((first_id + number, "results_published", "email", False, NOW))
        conn.commit()
        cur.execute("ANALYZE")
        conn.commit()
    return admin_id, session_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=200_000)
    parser.add_argument("--profile", action="store_true",
                        help="print where the fan-out job spends its time")
    args = parser.parse_args()
    workdir = Path(tempfile.gettempdir()) / "bench"
    workdir.mkdir(exist_ok=True)
    url, drop = database("postgresql", workdir)
    try:
        flask(url, "db", "upgrade")
        started = time.perf_counter()
        admin_id, session_id = build(url, args.candidates)
        print(f"built in {time.perf_counter() - started:.1f} s")

        from exam_portal import create_app
        from exam_portal.extensions import db
        from exam_portal.models.accounts import User
        from exam_portal.models.mail import OutboxMail
        from exam_portal.models.notifications import Notification
        from exam_portal.models.sittings import ExamSession
        from exam_portal.services.exam_sessions import notices

        per_minute = 600
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret",
                          "RATELIMIT_ENABLED": False, "JOB_RUNNER": "inline",
                          "NOTIFICATION_MAIL_PER_MINUTE": per_minute})
        timings = []
        with app.app_context(), app.test_request_context(method="POST"):
            admin = db.session.get(User, admin_id)
            session = db.session.get(ExamSession, session_id)
            for run in (1, 2):
                profiler = None
                if args.profile and run == 1:
                    import cProfile

                    profiler = cProfile.Profile()
                    profiler.enable()
                started = time.perf_counter()
                job = notices.announce_results(session, admin)
                timings.append(time.perf_counter() - started)
                if profiler is not None:
                    import pstats

                    profiler.disable()
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
                db.session.expire_all()
                job = db.session.get(type(job), job.id)
                assert job.status.value == "SUCCEEDED", (job.status, job.error)
                print(f"run {run}: {timings[-1]:.2f} s, summary {job.summary}")
            notices_made = db.session.scalar(sa.select(sa.func.count(Notification.id)))
            mails, first, last = db.session.execute(sa.select(
                sa.func.count(OutboxMail.id), sa.func.min(OutboxMail.next_attempt_at),
                sa.func.max(OutboxMail.next_attempt_at))).one()
        expected_mail = args.candidates - len(range(0, args.candidates, 100))
        assert notices_made == args.candidates, notices_made
        assert mails == expected_mail, mails
        spread = (last - first).total_seconds() / 60
        assert abs(spread - (expected_mail - 1) / per_minute) < 1, spread
        print(f"postgresql: results-published fan-out to {args.candidates} candidates "
              f"({notices_made} notices, {mails} mails spread over {spread:.0f} min at "
              f"{per_minute}/min): {timings[0]:.2f} s; run again: {timings[1]:.2f} s "
              f"({platform.node()}, {ROOT.name})")
    finally:
        drop()


if __name__ == "__main__":
    main()
