"""Benchmark certificates: bulk issue on PostgreSQL, and PDF rendering.

    .venv/bin/python bench/certificates.py [--certificates 10000] [--pdfs 1000]

Builds a private PostgreSQL database (created and dropped, never the test suite's),
migrated with `flask db upgrade`, holding one published session with N achieved 助理
qualifications whose candidates have profiles (COPY). Then it times issuing them all as
the administrators do, the background job (`certificates.start_issuing`, run inline:
records, Ed25519 signatures, one audit row per batch, progress commits). Target
(issue 6): 10,000 in ≤ 10 s. Then it renders one certificate PDF repeatedly (median ms),
and times the bulk-PDF job (`certificate_exports.start_export`) on a second session
holding --pdfs certificates, carried out as in production by an RQ worker process
(`flask jobs worker --burst`, Redis at BENCH_REDIS_URL): throughput from the job's own
start and finish times, peak memory from the worker's resident high-water mark.
"""

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bank import ROOT, database, flask  # noqa: E402

NOW = datetime(2026, 11, 1, tzinfo=UTC)


REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def build(url: str, count: int, prefix: str = "c") -> int:
    """A published session with *count* achieved 助理 qualifications; its id."""
    import psycopg

    raw = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(raw) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO users (email, password_hash, role, session_token, is_active, "
                    "created_at, password_changed_at) VALUES ('bench-admin@example.com', 'x', "
                    "'admin', 't', true, %s, %s) ON CONFLICT DO NOTHING", (NOW, NOW))
        admin_id = cur.execute("SELECT id FROM users WHERE role = 'admin'").fetchone()[0]
        first_id = cur.execute("SELECT coalesce(max(id), 0) + 1 FROM users").fetchone()[0]
        with cur.copy("COPY users (id, email, password_hash, role, session_token, is_active, "
                      "created_at, password_changed_at) FROM STDIN") as copy:
            for number in range(count):
                copy.write_row((first_id + number, f"{prefix}{number}@bench.example.com", "x",
                                "candidate", "t", True, NOW, NOW))
        cur.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), "
                    "(SELECT max(id) FROM users))")
        opens = datetime(2026, 3, 1, tzinfo=UTC)
        session_id = cur.execute(
            "INSERT INTO exam_sessions (year, name, levels, registration_opens_at, "
            "registration_closes_at, exam_opens_at, exam_closes_at, mode, syllabus_version, "
            "law_cutoff, experience_cutoff, verification_mode, admission_serial, "
            "results_published_at, created_by_id, created_at) VALUES (2026, '2026 年度考试', "
            "'[\"ASSISTANT\"]', %s, %s, %s, %s, 'PAPER', '2025', %s, %s, 'before_exam', 0, "
            "%s, %s, %s) RETURNING id",
            (opens, opens + timedelta(days=30), opens + timedelta(days=100),
             opens + timedelta(days=101), date(2025, 12, 31), date(2026, 12, 31),
             opens + timedelta(days=150), admin_id, NOW)).fetchone()[0]
        with cur.copy("COPY candidate_profiles (user_id, real_name, resident_id_masked, "
                      "gender, birth_date, is_social_work_major, is_full_time, updated_at) "
                      "FROM STDIN") as copy:
            for number in range(count):
                copy.write_row((first_id + number, f"考生{number:05d}",
                                f"110105********{number % 10000:04d}",
                                "FEMALE" if number % 2 else "MALE", date(1990, 1, 1), True,
                                False, NOW))
        with cur.copy("COPY registrations (session_id, candidate_id, level, region, "
                      "route_code, declared_at, status, admission_number) FROM STDIN") as copy:
            for number in range(count):
                copy.write_row((session_id, first_id + number, "ASSISTANT", "11",
                                "A-SW-BACHELOR", NOW, "VERIFIED",
                                f"202611{prefix.upper()}{number:08d}"))
        registrations = cur.execute("SELECT id, candidate_id FROM registrations "
                                    "WHERE session_id = %s", (session_id,)).fetchall()
        with cur.copy("COPY qualifications (candidate_id, level, year, session_id, "
                      "registration_id, status, recorded_at) FROM STDIN") as copy:
            for registration_id, candidate_id in registrations:
                copy.write_row((candidate_id, "ASSISTANT", 2026, session_id, registration_id,
                                "ACHIEVED", NOW))
        conn.commit()
        cur.execute("ANALYZE")
    return session_id


def export_job(url: str, session_id: int, keys: str) -> str:
    """Run the bulk-PDF job of a session on an RQ worker process; one line of figures."""
    import secrets
    import tempfile
    import zipfile

    from exam_portal import create_app
    from exam_portal.extensions import db
    from exam_portal.models.accounts import User
    from exam_portal.models.jobs import Job
    from exam_portal.models.sittings import ExamSession
    from exam_portal.services.certification import certificate_exports

    folder = tempfile.mkdtemp(prefix="bench-exports-")
    settings = {"SECRET_KEY": "bench-secret-not-for-production", "CERT_SIGNING_KEYS": keys,
                "REDIS_URL": REDIS_URL, "JOB_RUNNER": "rq", "EXPORT_DIR": folder,
                "JOB_QUEUE": f"bench-{secrets.token_hex(4)}"}
    app = create_app(dict(settings, SQLALCHEMY_DATABASE_URI=url))
    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
        job_id = certificate_exports.start_export(db.session.get(ExamSession, session_id),
                                                  admin).id
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=settings["SECRET_KEY"],
               CERT_SIGNING_KEYS=keys, REDIS_URL=REDIS_URL, JOB_RUNNER="rq", EXPORT_DIR=folder,
               FLASK_JOB_QUEUE=settings["JOB_QUEUE"])
    subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "exam_portal", "jobs", "worker",
                    "--burst"], env=env, check=True, cwd=ROOT)
    worker_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB
    with app.app_context():
        job = db.session.get(Job, job_id)
        if job.status.value != "SUCCEEDED":
            raise SystemExit(f"export job {job.status.value}: {job.error}")
        seconds = (job.finished_at - job.started_at).total_seconds()
        path = certificate_exports.export_file(job)
        with zipfile.ZipFile(path) as archive:
            pdfs = sum(name.endswith(".pdf") for name in archive.namelist())
        size_mb = path.stat().st_size / 1_048_576
        db.session.remove()
        db.engine.dispose()
    shutil.rmtree(folder)
    return (f"bulk-PDF job, {pdfs} PDFs on an RQ worker: {seconds:.1f} s, "
            f"{pdfs / seconds:.1f} PDFs/s, ZIP {size_mb:.0f} MB "
            f"({size_mb * 1024 / pdfs:.0f} KiB each); worker peak RSS {worker_peak_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certificates", type=int, default=10_000)
    parser.add_argument("--pdfs", type=int, default=1_000)
    parser.add_argument("--pdf-samples", type=int, default=21)
    args = parser.parse_args()
    url, drop = database("postgresql", Path("/tmp"))  # noqa: S108 - the kind, not a path
    try:
        flask(url, "db", "upgrade")
        started = time.perf_counter()
        session_id = build(url, args.certificates)
        print(f"built {args.certificates} achieved qualifications in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        os.environ["DATABASE_URL"] = url
        from exam_portal import create_app
        from exam_portal.extensions import db
        from exam_portal.models.accounts import User
        from exam_portal.models.certificates import Certificate
        from exam_portal.models.jobs import Job
        from exam_portal.models.sittings import ExamSession
        from exam_portal.services.certification import certificate_pdf, certificates
        from question_bank import certificates as signing

        app = create_app({"SECRET_KEY": "bench-secret-not-for-production",
                          "JOB_RUNNER": "inline",
                          "CERT_SIGNING_KEYS": f"bench:{signing.new_key_seed()}"})
        with app.app_context(), app.test_request_context():
            admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
            session = db.session.get(ExamSession, session_id)
            started = time.perf_counter()
            job_id = certificates.start_issuing(session, admin).id
            seconds = time.perf_counter() - started
            db.session.expire_all()
            job = db.session.get(Job, job_id)
            print(f"bulk issue: {seconds:.2f} s for {job.summary['issued']} certificates "
                  f"({job.status.value}; skipped {job.summary['skipped']}) — target ≤ 10 s",
                  flush=True)
            certificate = db.session.scalars(sa.select(Certificate).limit(1)).one()
            certificate_pdf.render(certificate)  # fonts and WeasyPrint warm
            samples = []
            for _ in range(args.pdf_samples):
                started = time.perf_counter()
                certificate_pdf.render(certificate)
                samples.append((time.perf_counter() - started) * 1000)
            print(f"one PDF: median {statistics.median(samples):.0f} ms "
                  f"(min {min(samples):.0f}, max {max(samples):.0f}, "
                  f"{args.pdf_samples} renders)", flush=True)
            export_session_id = build(url, args.pdfs, prefix="p")
            certificates.issue_session(db.session.get(ExamSession, export_session_id), admin,
                                       now=datetime.now(UTC))
            db.session.commit()
            print(export_job(url, export_session_id, app.config["CERT_SIGNING_KEYS"]),
                  flush=True)
            db.session.remove()
            db.engine.dispose()
        print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, nproc "
              f"{os.cpu_count()}, Python {platform.python_version()}, root {ROOT}")
    finally:
        drop()


if __name__ == "__main__":
    main()
