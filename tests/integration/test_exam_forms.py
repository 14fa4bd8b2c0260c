"""Exam forms: a subject's form is built from its assembly plan out of the secure pool,
reviewed on one page and locked; nothing in a locked form changes (not through the
portal, not in the database); every candidate of the session sits the locked items."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.attempts import AttemptItem
from exam_portal.models.audit import AuditEvent
from exam_portal.models.bank import ItemPool
from exam_portal.models.forms import ExamForm, ExamFormItem, FormStatus
from exam_portal.models.sittings import ExamSession, Registration
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.exam_sessions import forms
from question_bank.items import ItemType
from question_bank.levels import Level
from question_bank.subjects import Subject

from ..factories import make_user
from .form_support import lock_forms
from .practice_support import login, objective_bank
from .test_online_exams import EXAM_OPENS, _start, verified_registration
from .test_sittings import _session
from .test_state_races import interleave

pytestmark = pytest.mark.db


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email="forms-admin@example.com")


@pytest.fixture
def session_id(app, admin) -> int:
    objective_bank(app, Subject.COMP_JR, pool=ItemPool.SECURE)
    return _session(app, admin, levels=(Level.ASSISTANT,))


def _plan(app, session_id, admin, **changes):
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        items = forms.secure_pool_items(session, Subject.COMP_JR)
        fields = {"cells": forms.default_cells(session, Subject.COMP_JR,
                                               forms.pool_counts(items)),
                  "facility_min": 0.0, "facility_max": 1.0, "rest_sessions": 0, **changes}
        forms.save_plan(session, Subject.COMP_JR, forms.PlanFields(**fields),
                        db.session.get(User, admin))
        db.session.commit()


def test_a_form_follows_its_plan_and_locking_audits_its_hash(one_leg, app, session_id, admin):
    _plan(app, session_id, admin)
    [form_id] = lock_forms(app, session_id, admin, [Subject.COMP_JR])[Subject.COMP_JR]
    with app.app_context():
        form = db.session.get(ExamForm, form_id)
        session = db.session.get(ExamSession, session_id)
        plan = forms.plan_of(session, Subject.COMP_JR)
        held = {(entry.version.item.item_type, entry.chapter_code) for entry in form.items}
        wanted = {(ItemType(cell["type"]), cell["chapter"]): cell["count"] for cell in plan.cells}
        counted = {cell: sum(1 for e in form.items if (e.version.item.item_type, e.chapter_code)
                             == cell) for cell in held}
        assert counted == {cell: n for cell, n in wanted.items() if n}
        assert sum(entry.points_halves for entry in form.items) == 200  # 60×1 + 20×2 points
        assert form.status is FormStatus.LOCKED and form.content_hash == forms.hash_of(form)
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "form.locked"))
        assert form.content_hash in event.details


def test_a_locked_form_cannot_change_in_the_portal_or_the_database(app, session_id, admin):
    [form_id] = lock_forms(app, session_id, admin, [Subject.COMP_JR])[Subject.COMP_JR]
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        actor = db.session.get(User, admin)
        with pytest.raises(ServiceError, match="已经锁定"):
            forms.store(session, forms.compose(session, Subject.COMP_JR, seed=5), actor,
                        now=utcnow())
        db.session.rollback()
        with pytest.raises(ServiceError, match="已经锁定"):
            forms.save_plan(session, Subject.COMP_JR, forms.PlanFields({}, 0, 1), actor)
        db.session.rollback()
        other = db.session.scalar(sa.select(ExamFormItem.item_version_id)
                                  .where(ExamFormItem.form_id == form_id)
                                  .order_by(ExamFormItem.position.desc()))
        for statement in (
                sa.update(ExamFormItem).where(ExamFormItem.form_id == form_id,
                                              ExamFormItem.position == 1)
                .values(item_version_id=other),
                sa.delete(ExamFormItem).where(ExamFormItem.form_id == form_id),
                sa.update(ExamForm).where(ExamForm.id == form_id).values(content_hash="0" * 64),
                sa.update(ExamForm).where(ExamForm.id == form_id)
                .values(status=FormStatus.DRAFT),
                sa.delete(ExamForm).where(ExamForm.id == form_id)):
            with pytest.raises(sa.exc.DatabaseError, match="exam form is locked"):
                db.session.execute(statement)
            db.session.rollback()
        form = db.session.get(ExamForm, form_id)
        assert form.is_locked and forms.hash_of(form) == form.content_hash


def test_every_candidate_sits_the_locked_items_in_an_order_of_their_own(one_leg, app,
                                                                         session_id, admin):
    objective_bank(app, Subject.PRAC_JR, pool=ItemPool.SECURE)
    [form_id] = lock_forms(app, session_id, admin)[Subject.COMP_JR]
    with app.app_context():
        locked = {entry.item_version_id for entry in db.session.get(ExamForm, form_id).items}
    papers = []
    for _ in range(2):
        registration_id, _user_id, email = verified_registration(app, admin, session_id)
        with freeze_time(EXAM_OPENS + timedelta(hours=1)):
            attempt_id = _start(login(app, email), registration_id)
        with app.app_context():
            papers.append(db.session.execute(
                sa.select(AttemptItem.item_version_id, AttemptItem.option_order)
                .where(AttemptItem.attempt_id == attempt_id)
                .order_by(AttemptItem.position)).all())
    assert [{version for version, _ in paper} for paper in papers] == [locked, locked]
    assert papers[0] != papers[1]  # items and options are shuffled per candidate


def test_without_a_locked_form_nobody_starts_and_a_short_pool_is_named(one_leg, app,
                                                                        session_id, admin):
    registration_id, _user_id, email = verified_registration(app, admin, session_id)
    with freeze_time(EXAM_OPENS + timedelta(hours=1)):
        page = login(app, email).post(
            f"/exams/registrations/{registration_id}/subjects/COMP_JR/start",
            follow_redirects=True).get_data(as_text=True)
    assert "试卷尚未锁定" in page
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        chapter = forms.chapters_of(session, Subject.COMP_JR)[0].code
        cells = {(ItemType.SINGLE, chapter): 60, (ItemType.MULTI, chapter): 20}
        forms.save_plan(session, Subject.COMP_JR, forms.PlanFields(cells, 0, 1),
                        db.session.get(User, admin))
        with pytest.raises(ServiceError, match=f"第 {chapter} 章的单项选择题需要 60 道"):
            forms.compose(session, Subject.COMP_JR)


def test_form_pages_are_for_administrators_and_exam_authors_and_audited(one_leg, app,
                                                                        session_id, admin):
    [form_id] = lock_forms(app, session_id, admin, [Subject.COMP_JR])[Subject.COMP_JR]
    trainer = make_user(app, Role.TRAINER, email="plain-trainer@example.com")
    author = make_user(app, Role.TRAINER, email="exam-author@example.com")
    with app.app_context():
        db.session.get(User, author).is_exam_author = True
        db.session.commit()
    urls = (f"/admin/sessions/{session_id}/forms", f"/admin/forms/{form_id}",
            f"/admin/sessions/{session_id}/forms/COMP_JR/plan")
    plain = login(app, "plain-trainer@example.com")
    assert [plain.get(url).status_code for url in urls] == [404, 404, 404]
    exam_author = login(app, "exam-author@example.com")
    assert [exam_author.get(url).status_code for url in urls] == [200, 200, 200]
    page = exam_author.get(f"/admin/forms/{form_id}").get_data(as_text=True)
    assert "与锁定时一致" in page and "答案：A" in page
    with app.app_context():
        viewed = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "item.secure_viewed",
            AuditEvent.actor_id == author)).all()
        assert len(viewed) == 2 and all('"via":"form"' in e.details for e in viewed)
    assert trainer


def _racing_forms(app, session_id, admin):
    """A draft form (its id and the hash its reviewer saw) and another composition."""
    _plan(app, session_id, admin)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        actor = db.session.get(User, admin)
        [form] = forms.store(session, forms.compose(session, Subject.COMP_JR, seed=3), actor,
                             now=utcnow())
        composition = forms.compose(session, Subject.COMP_JR, seed=4)
        db.session.commit()
        return form.id, forms.hash_of(form), composition


def test_a_rebuild_racing_the_lock_never_changes_a_locked_form(app, session_id, admin,
                                                                monkeypatch):
    form_id, reviewed, composition = _racing_forms(app, session_id, admin)
    original = forms.hash_of

    def lock(pause):
        monkeypatch.setattr(forms, "hash_of", lambda form: (pause(), original(form))[1])
        try:
            forms.lock(db.session.get(ExamForm, form_id), db.session.get(User, admin),
                       reviewed_hash=reviewed, now=utcnow())
        finally:
            monkeypatch.setattr(forms, "hash_of", original)

    def rebuild():
        forms.store(db.session.get(ExamSession, session_id), composition,
                    db.session.get(User, admin), now=utcnow())

    locked, rebuilt = interleave(app, lock, rebuild)
    assert locked.done and rebuilt.refused
    with app.app_context():
        form = db.session.get(ExamForm, form_id)
        assert form.is_locked and forms.hash_of(form) == form.content_hash


def test_a_lock_racing_a_rebuild_is_refused_not_applied_to_the_new_form(app, session_id, admin,
                                                                         monkeypatch):
    form_id, reviewed, composition = _racing_forms(app, session_id, admin)
    original = forms.forms_of

    def rebuild(pause):
        monkeypatch.setattr(forms, "forms_of", lambda *a: (pause(), original(*a))[1])
        try:
            forms.store(db.session.get(ExamSession, session_id), composition,
                        db.session.get(User, admin), now=utcnow())
        finally:
            monkeypatch.setattr(forms, "forms_of", original)

    def lock():
        forms.lock(db.session.get(ExamForm, form_id), db.session.get(User, admin),
                   reviewed_hash=reviewed, now=utcnow())

    rebuilt, locked = interleave(app, rebuild, lock)
    # The new form may even reuse the old one's id (SQLite): the reviewed hash tells.
    assert rebuilt.done and locked.refused and "重新组卷" in str(locked.error)
    with app.app_context():
        [form] = db.session.scalars(sa.select(ExamForm)).all()
        assert form.status is FormStatus.DRAFT and forms.hash_of(form) != reviewed


def test_parallel_forms_share_at_most_their_bound_and_split_the_candidates(one_leg, app, session_id,
                                                                          admin):
    # 95 secure items for two 80-item forms: they must share at least 65.
    _plan(app, session_id, admin, form_count=2, max_overlap=10)
    with app.app_context(), pytest.raises(ServiceError, match="重复不超过 10 道"):
        forms.compose(db.session.get(ExamSession, session_id), Subject.COMP_JR)
    locked = lock_forms(app, session_id, admin, [Subject.COMP_JR], form_count=2,
                        max_overlap=70)[Subject.COMP_JR]
    with app.app_context():
        first, second = (db.session.get(ExamForm, form_id) for form_id in locked)
        assert (first.label, second.label) == ("A", "B") and first.is_locked
        shared = {e.item_id for e in first.items} & {e.item_id for e in second.items}
        assert 65 <= len(shared) <= 70
    taken = set()
    for _ in range(2):
        registration_id, _user_id, _email = verified_registration(app, admin, session_id)
        with app.app_context():
            taken.add(forms.form_for(db.session.get(Registration, registration_id),
                                     Subject.COMP_JR).id)
    assert taken == set(locked)


def test_a_locked_form_prints_with_its_answer_key_sheet(one_leg, app, session_id, admin,
                                                        tmp_path):
    from .test_certificates import _pdf_text
    from .test_sittings_pages import _admin_client

    [form_id] = lock_forms(app, session_id, admin, [Subject.COMP_JR])[Subject.COMP_JR]
    response = _admin_client(app).get(f"/admin/forms/{form_id}/paper.pdf")
    assert response.status_code == 200 and response.data[:5] == b"%PDF-"
    text = _pdf_text(response.data, tmp_path)
    with app.app_context():
        form = db.session.get(ExamForm, form_id)
        first = form.items[0].version.to_domain()
        assert first.stem[:12] in text and "参考答案与评分要点" in text
        assert form.content_hash in text.replace(" ", "").replace("\n", "")
        assert db.session.scalar(sa.select(AuditEvent.id).where(
            AuditEvent.action == "form.printed"))
