"""Open-pool item statistics from candidates' first answers in mock papers
(services/delivery/open_statistics.py)."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.attempts import Attempt, AttemptItem, AttemptStatus, Response
from exam_portal.models.bank import Item, ItemPool
from exam_portal.models.statistics import ItemStatistics
from exam_portal.services.delivery import open_statistics
from question_bank.item_analysis import REST_SCALE
from question_bank.practice import Mode

from ..bank_factory import publish
from ..factories import logged_in, make_user
from ..unit.bank_samples import SINGLE

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _paper(app, candidate, answers, *, day=0, mode=Mode.MOCK, full=100):
    """A handed-in paper: *answers* is [(item id, letters chosen, half-points)], the
    rest of the paper earning the paper's score minus these."""
    with app.app_context():
        started = NOW + timedelta(days=day)
        score = sum(halves for _, _, halves in answers)
        attempt = Attempt(candidate_id=candidate, mode=mode, subject=SINGLE.subject,
                          spec_version="2018", seed=1, device_token="t" * 32,
                          full_halves=full * 2, pass_halves=120, score_halves=score,
                          started_at=started, status=AttemptStatus.SUBMITTED,
                          submitted_at=started + timedelta(hours=1))
        db.session.add(attempt)
        db.session.flush()
        for position, (item_id, letters, halves) in enumerate(answers):
            item = db.session.get(Item, item_id)
            db.session.add(AttemptItem(
                attempt_id=attempt.id, position=position, section="single",
                item_id=item_id, item_version_id=item.current_version_id,
                chapter_code="COMP_JR.04", option_order="ABCD", points_halves=2))
            db.session.add(Response(attempt_id=attempt.id, position=position,
                                    selected=letters, seq=1, saved_at=started,
                                    score_halves=halves))
        db.session.commit()
        return attempt.id


def _rest(app, attempt_id, halves):
    with app.app_context():
        db.session.get(Attempt, attempt_id).score_halves += halves
        db.session.commit()


def test_first_mock_answers_give_each_version_its_figures(app):
    item_id, other_id = publish(app, [SINGLE, SINGLE])
    candidates = [make_user(app, email=f"open{n}@example.com") for n in range(6)]
    # Key A. Rest of the paper (198 half-points possible): strong candidates answer right.
    plan = [("A", 180), ("A", 150), ("A", 100), ("B", 120), ("C", 50), ("", 20)]
    for candidate, (letters, rest) in zip(candidates, plan, strict=True):
        earned = 2 if letters == "A" else 0
        attempt = _paper(app, candidate, [(item_id, letters, earned)])
        _rest(app, attempt, rest)
    # A second paper with the item: not a first answer, left out.
    _paper(app, candidates[4], [(item_id, "A", 2)], day=3)
    # An exam paper and a practice set do not count.
    _paper(app, candidates[5], [(item_id, "A", 2)], day=4, mode=Mode.CHAPTER)
    with app.app_context():
        summary = open_statistics.compute(NOW)
        db.session.commit()
        row = db.session.scalars(sa.select(ItemStatistics).where(
            ItemStatistics.item_id == item_id)).one()
    assert summary == {"versions": 1, "answers": 6, "flagged": 0}
    assert row.form_id is None and row.candidates == 6
    assert row.facility == pytest.approx(0.5)
    rest = [round(value / 198 * REST_SCALE) for _, value in plan]
    earned = [2, 2, 2, 0, 0, 0]
    assert row.discrimination == pytest.approx(float(np.corrcoef(earned, rest)[0, 1]))
    assert row.blank == pytest.approx(1 / 6)
    assert {o["letter"]: o["chosen"] for o in row.options} == pytest.approx(
        {"A": 0.5, "B": 1 / 6, "C": 1 / 6, "D": 0})
    assert row.flags == []  # six answers: too few to flag
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ItemStatistics)
                                 .where(ItemStatistics.item_id == other_id)) == 0


def test_enough_answers_flag_an_item_and_computing_again_replaces_the_figures(app):
    (item_id,) = publish(app, [SINGLE])
    candidates = [make_user(app, email=f"flag{n}@example.com")
                  for n in range(open_statistics.MIN_ANSWERS)]
    for n, candidate in enumerate(candidates):
        # The weaker half answer right: negative discrimination.
        right = n < len(candidates) // 2
        attempt = _paper(app, candidate, [(item_id, "A" if right else "B", 2 if right else 0)])
        _rest(app, attempt, 20 + n * 5)
    with app.app_context():
        assert open_statistics.compute(NOW)["flagged"] == 1
        db.session.commit()
        assert open_statistics.compute(NOW)["versions"] == 1
        db.session.commit()
        rows = db.session.scalars(sa.select(ItemStatistics)).all()
    assert len(rows) == 1
    assert "DISCRIMINATION_NEGATIVE" in {flag["code"] for flag in rows[0].flags}


def test_secure_items_have_no_open_statistics(app):
    (item_id,) = publish(app, [SINGLE], pool=ItemPool.SECURE)
    candidate = make_user(app, email="secure-open@example.com")
    _paper(app, candidate, [(item_id, "A", 2)])
    with app.app_context():
        assert open_statistics.compute(NOW)["versions"] == 0


def test_trainers_see_sort_and_review_the_figures(app):
    from ..bank_factory import trainers

    easy, hard = publish(app, [SINGLE, SINGLE])
    candidates = [make_user(app, email=f"page{n}@example.com")
                  for n in range(open_statistics.MIN_ANSWERS)]
    for n, candidate in enumerate(candidates):
        wrong = n < len(candidates) // 2  # the weaker half miss the hard item
        attempt = _paper(app, candidate, [(easy, "A", 2), (hard, "BCD"[n % 3] if wrong
                                                           else "A", 0 if wrong else 2)])
        _rest(app, attempt, 20 + n * 5)
    with app.app_context():
        open_statistics.compute(NOW)
        db.session.commit()
    author, _ = trainers(app)
    client = logged_in(app, author)
    page = client.get("/authoring/items?sort=facility").get_data(as_text=True)
    assert "答对率" in page and "50%" in page and "100%" in page
    assert page.index(f"/authoring/items/{hard}") < page.index(f"/authoring/items/{easy}")
    page = client.get("/authoring/items?sort=-facility").get_data(as_text=True)
    assert page.index(f"/authoring/items/{easy}") < page.index(f"/authoring/items/{hard}")
    # Everyone answered the easy item right: flagged (too easy, no discrimination).
    review = client.get("/authoring/items?flagged=1&mine=1").get_data(as_text=True)
    assert f"/authoring/items/{easy}" in review and f"/authoring/items/{hard}" not in review
    other = make_user(app, Role.TRAINER, email="other-trainer@example.com")
    assert f"/authoring/items/{easy}" not in logged_in(app, other).get(
        "/authoring/items?flagged=1&mine=1").get_data(as_text=True)
    detail = client.get(f"/authoring/items/{hard}").get_data(as_text=True)
    assert "练习统计" in detail and "50%" in detail


def test_the_command_computes_and_reports(app):
    (item_id,) = publish(app, [SINGLE])
    attempt = _paper(app, make_user(app, email="cli-open@example.com"), [(item_id, "A", 2)])
    _rest(app, attempt, 100)
    result = app.test_cli_runner().invoke(args=["bank", "statistics"])
    assert result.exit_code == 0, result.output
    assert "1 item versions from 1 first answers; 0 flagged" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(ItemStatistics.candidates).where(
            ItemStatistics.item_id == item_id)) == 1
