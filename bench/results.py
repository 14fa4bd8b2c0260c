"""Benchmark results: compute a session of 200,000 candidates on PostgreSQL.

    .venv/bin/python bench/results.py [--candidates 200000]

Builds a private PostgreSQL database (created and dropped, never the test suite's),
migrated with `flask db upgrade`, with two sessions: last year's (2025; half of the
candidates sat 社会工作师 there and their marked results are in the rolling window) and
this year's (2026): every candidate registered, half for 助理社会工作师 (2 subjects),
half for 社会工作师 (3 subjects), about 500,000 subject scores in all, a regional line in
one region. The data goes in with COPY; then it times computing the 2026 session's
results as the administrators start it, a background job (`results.start_computing`,
run inline here: the same work a worker does, progress commits included), marking
every score and recording the qualifications, and a second, idempotent run. Target
(issue 5): ≤ 60 s.
"""

import argparse
import os
import platform
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bank import ROOT, database, flask  # noqa: E402

from question_bank import syllabus  # noqa: E402

NOW = datetime(2026, 11, 1, tzinfo=UTC)
REGIONS = ["11", "31", "44", "51", "54", "65"]


def build(url: str, candidates: int, rng: random.Random) -> dict:
    import psycopg

    raw = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(raw) as conn, conn.cursor() as cur:
        with cur.copy("COPY users (email, password_hash, role, session_token, is_active, "
                      "created_at, password_changed_at) FROM STDIN") as copy:
            copy.write_row(("bench-admin@example.com", "x", "admin", "t", True, NOW, NOW))
            for number in range(candidates):
                copy.write_row((f"c{number}@bench.example.com", "x", "candidate", "t", True,
                                NOW, NOW))
        admin_id = cur.execute("SELECT id FROM users WHERE role = 'admin'").fetchone()[0]
        first_id = admin_id + 1
        sessions = {}
        for year in (2025, 2026):
            opens = datetime(year, 3, 1, tzinfo=UTC)
            sessions[year] = cur.execute(
                "INSERT INTO exam_sessions (year, name, levels, registration_opens_at, "
                "registration_closes_at, exam_opens_at, exam_closes_at, mode, "
                "syllabus_version, law_cutoff, experience_cutoff, verification_mode, "
                "admission_serial, created_by_id, created_at) VALUES (%s, %s, %s, %s, %s, "
                "%s, %s, 'PAPER', %s, %s, %s, 'before_exam', 0, %s, %s) RETURNING id",
                (year, f"{year} 年度考试", '["ASSISTANT", "INTERMEDIATE"]', opens,
                 opens + timedelta(days=30), opens + timedelta(days=100),
                 opens + timedelta(days=101), syllabus.version_for_year(year),
                 date(year - 1, 12, 31), date(year, 12, 31), admin_id, NOW)).fetchone()[0]
        cur.execute("INSERT INTO pass_lines (session_id, subject, region, line_halves) "
                    "VALUES (%s, 'COMP_MID', '54', 106), (%s, 'COMP_JR', '54', 106)",
                    (sessions[2026], sessions[2026]))
        # Registrations: 2025 for the 社会工作师 half, 2026 for everyone.
        with cur.copy("COPY registrations (session_id, candidate_id, level, region, "
                      "route_code, declared_at, status, admission_number) FROM STDIN") as copy:
            for number in range(candidates):
                user_id, region = first_id + number, REGIONS[number % len(REGIONS)]
                level = "INTERMEDIATE" if number % 2 else "ASSISTANT"
                if level == "INTERMEDIATE":
                    copy.write_row((sessions[2025], user_id, level, region, "M-SW-BACHELOR",
                                    NOW, "VERIFIED", f"2025{region}2{number:08d}"))
                copy.write_row((sessions[2026], user_id, level, region, "A-SW-BACHELOR",
                                NOW, "VERIFIED", f"2026{region}{level[0]}{number:08d}"))
        registrations = dict(((session_id, candidate_id), registration_id)
                             for registration_id, session_id, candidate_id in cur.execute(
                                 "SELECT id, session_id, candidate_id FROM registrations"))
        scores = 0
        with cur.copy("COPY subject_results (registration_id, candidate_id, year, subject, "
                      "score_halves, full_halves, source, line_halves, passed, "
                      "passed_region, updated_at) FROM STDIN") as copy:
            for number in range(candidates):
                user_id = first_id + number
                if number % 2:  # 社会工作师: last year's results, marked, then this year's
                    for subject in ("COMP_MID", "LAW_MID", "PRAC_MID"):
                        score = rng.randint(60, 180)
                        copy.write_row((registrations[(sessions[2025], user_id)], user_id,
                                        2025, subject, score, 200, "PAPER", 120,
                                        score >= 120, None, NOW))
                        scores += 1
                    subjects = ("COMP_MID", "LAW_MID", "PRAC_MID")
                else:
                    subjects = ("COMP_JR", "PRAC_JR")
                for subject in subjects:
                    copy.write_row((registrations[(sessions[2026], user_id)], user_id, 2026,
                                    subject, rng.randint(60, 180), 200, "PAPER", None, None,
                                    None, NOW))
                    scores += 1
        conn.commit()
        cur.execute("ANALYZE")
    return {"session_id": sessions[2026], "scores": scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=200_000)
    args = parser.parse_args()
    url, drop = database("postgresql", Path("/tmp"))  # noqa: S108 - the kind, not a path
    try:
        flask(url, "db", "upgrade")
        started = time.perf_counter()
        built = build(url, args.candidates, random.Random(2026))
        print(f"built {args.candidates} candidates, {built['scores']} subject scores in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        os.environ["DATABASE_URL"] = url
        from exam_portal import create_app
        from exam_portal.extensions import db
        from exam_portal.models.accounts import User
        from exam_portal.models.jobs import Job, JobStatus
        from exam_portal.models.sittings import ExamSession
        from exam_portal.services.exam_sessions import results

        app = create_app({"SECRET_KEY": "bench-secret-not-for-production",
                          "JOB_RUNNER": "inline"})
        with app.app_context():
            admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
            for label in ("first run", "second run (idempotent)"):
                session = db.session.get(ExamSession, built["session_id"])
                started = time.perf_counter()
                job_id = results.start_computing(session, admin).id
                seconds = time.perf_counter() - started
                db.session.expire_all()
                job = db.session.get(Job, job_id)
                if job.status is not JobStatus.SUCCEEDED:
                    raise SystemExit(f"job {job_id} {job.status}: {job.error}")
                summary = job.summary
                print(f"{label}: {seconds:.1f} s — {summary['subjects_marked']} scores "
                      f"marked, {summary['subjects_passed']} passed, "
                      f"{summary['qualifications_recorded']} qualifications recorded, "
                      f"{summary['qualifications_withdrawn']} withdrawn (target ≤ 60 s)",
                      flush=True)
            db.session.remove()
            db.engine.dispose()
        print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, nproc "
              f"{os.cpu_count()}, Python {platform.python_version()}, root {ROOT}")
    finally:
        drop()


if __name__ == "__main__":
    main()
