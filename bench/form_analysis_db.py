"""Benchmark the item analysis job and a re-key's rescoring on PostgreSQL at exam scale.

Usage:
  .venv/bin/python bench/form_analysis_db.py [--candidates 200000] [--keep]

Builds a private PostgreSQL database (dropped afterwards), migrated with `flask db
upgrade`, with one exam session whose COMP_JR form is built from the secure pool and
locked through the services (80 items, the official COMP_JR paper: 60 SINGLE × 1 point
+ 20 MULTI × 2 points). One real candidate sits it through the services; that paper is
then cloned in SQL to --candidates handed-in exam papers of the form (attempts,
attempt_items, responses: --candidates 250000 gives the 20 million answers of issue 18's
200,000 × 100; no real paper has 100 items), each candidate answering right with a
probability from an ability of their own, a wrong option otherwise, 1 % blank.

Times, as the portal runs them (inside one transaction each, committed):
1. `form_analysis.analyse(form)`: read every answer (binary COPY into numpy), compute
   every statistic and flag, store them.
2. `form_analysis.decide(form, first item, REKEY to another option)`: the decision,
   the rescoring of every paper, the item scores, totals and subject scores written.
"""

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bank import database, flask  # noqa: E402


def _build(app, candidates: int) -> int:
    """The locked form, one real paper of it, and *candidates* clones; the form's id."""
    from exam_portal.extensions import db
    from exam_portal.models.accounts import Role
    from exam_portal.models.attempts import Attempt, AttemptItem, EndedBy, Response
    from exam_portal.models.bank import ItemPool
    from exam_portal.models.forms import ExamForm
    from exam_portal.models.sittings import Registration
    from exam_portal.services.delivery import hand_in
    from exam_portal.services.exam_sessions import online_exams
    from question_bank.levels import Level
    from question_bank.subjects import Subject
    from tests.factories import make_user
    from tests.integration.form_support import lock_forms
    from tests.integration.practice_support import objective_bank
    from tests.integration.test_online_exams import EXAM_OPENS, verified_registration
    from tests.integration.test_sittings import _session

    admin = make_user(app, Role.ADMIN, email="bench-admin@example.com")
    objective_bank(app, Subject.COMP_JR, singles=120, multis=40, pool=ItemPool.SECURE)
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    [form_id] = lock_forms(app, session_id, admin, [Subject.COMP_JR])[Subject.COMP_JR]
    registration_id, _, _ = verified_registration(app, admin, session_id)
    sat = EXAM_OPENS + timedelta(hours=1)
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        attempt = online_exams.start(registration, Subject.COMP_JR, registration.candidate,
                                     now=sat)
        keys = {}
        for entry in attempt.items:
            content = entry.version.to_domain()
            right = "".join(content.keys)
            wrong = next(letter for letter in "ABCDE"[:len(content.options)]
                         if letter not in right)
            keys[entry.position] = (right, wrong)
            db.session.add(Response(attempt_id=attempt.id, position=entry.position,
                                    selected=keys[entry.position][0], seq=1, saved_at=sat))
        db.session.flush()
        hand_in.finalise(attempt.id, now=sat, ended_by=EndedBy.CANDIDATE)
        hand_in.mark_handed_in(attempt.id, now=sat)  # its copies are marked papers too
        db.session.commit()
        template = attempt.id
        attempts = Attempt.__table__
        first = template + 1
        replace = {"id": "g", "registration_id": "NULL", "seed": "g"}
        columns = [column.name for column in attempts.columns]
        select = ", ".join(replace.get(name, f'a."{name}"') for name in columns)
        quoted = ", ".join(f'"{name}"' for name in columns)
        started = time.perf_counter()
        db.session.execute(sa.text(
            f"INSERT INTO attempts ({quoted}) SELECT {select} FROM attempts a, "  # noqa: S608
            f"generate_series({first}, {first + candidates - 1}) g WHERE a.id = {template}"))
        items = AttemptItem.__table__
        item_columns = [column.name for column in items.columns]
        db.session.execute(sa.text(
            f"INSERT INTO attempt_items ({', '.join(item_columns)}) SELECT "  # noqa: S608
            + ", ".join("g" if name == "attempt_id" else f"t.{name}" for name in item_columns)
            + f" FROM attempt_items t, generate_series({first}, {first + candidates - 1}) g"
            f" WHERE t.attempt_id = {template}"))
        values = ", ".join(f"({position}, '{right}', '{wrong}')"
                           for position, (right, wrong) in keys.items())
        # Ability per candidate from its id; 1 % blank; right with P = 0.25 + 0.7·ability.
        db.session.execute(sa.text(
            "INSERT INTO responses (attempt_id, position, selected, is_flagged, seq, saved_at,"  # noqa: S608
            " is_locked) SELECT i.attempt_id, i.position, CASE WHEN r.u < 0.01 THEN NULL"
            " WHEN r.u < 0.25 + 0.7 * ((i.attempt_id * 7919) % 1000) / 1000.0 THEN k.good"
            " ELSE k.bad END, false, 1, now(), false"
            f" FROM attempt_items i JOIN (VALUES {values}) AS k(position, good, bad)"
            " ON k.position = i.position CROSS JOIN LATERAL (SELECT random() + i.position * 0"
            f" AS u) r WHERE i.attempt_id >= {first}"))
        db.session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('attempts', 'id'),"
                                   f" {first + candidates})"))
        db.session.commit()
        print(f"  {candidates} papers cloned in {time.perf_counter() - started:.0f} s",
              flush=True)
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        assert db.session.get(ExamForm, form_id).is_locked
    return form_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.gettempdir()) / "bench"
    workdir.mkdir(exist_ok=True)
    url, drop = database("postgresql", workdir)
    try:
        flask(url, "db", "upgrade")
        from exam_portal import create_app
        from exam_portal.extensions import db
        from exam_portal.models.accounts import User
        from exam_portal.models.forms import ExamForm
        from exam_portal.services.exam_sessions import form_analysis
        from question_bank.key_review import DecisionKind
        from tests.conftest import portal_config

        app = create_app(portal_config(url))
        form_id = _build(app, args.candidates)
        print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
              f"{os.cpu_count()} cores, Python {platform.python_version()}, postgresql, "
              f"{args.candidates + 1} papers", flush=True)
        with app.app_context():
            form = db.session.get(ExamForm, form_id)
            started = time.perf_counter()
            statistics = form_analysis.analyse(form, None, now=datetime.now(UTC))
            db.session.commit()
            analysed = time.perf_counter() - started
            print(f"analysis of {statistics.candidates} × {len(form.items)}: {analysed:.1f} s "
                  f"(target ≤ 30 s); alpha {statistics.alpha:.3f}", flush=True)
            entry = form.items[0]
            keys = "".join(entry.version.to_domain().keys)
            other = "B" if keys != "B" else "C"
            started = time.perf_counter()
            admin = db.session.scalar(sa.select(User).where(
                User.email == "bench-admin@example.com"))
            form_analysis.decide(form, entry.item_id, DecisionKind.REKEY, keys=other,
                                 reason="bench: the key was wrong", actor=admin,
                                 now=datetime.now(UTC))
            db.session.commit()
            print(f"re-key of one item, every paper rescored: "
                  f"{time.perf_counter() - started:.1f} s (target ≤ 60 s)", flush=True)
            db.session.remove()
            db.engine.dispose()
    finally:
        if args.keep:
            print(f"kept {url}")
        else:
            drop()


if __name__ == "__main__":
    main()
