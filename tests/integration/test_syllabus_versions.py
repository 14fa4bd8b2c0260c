"""The syllabus version drives what depends on the syllabus: an online exam paper draws
only items filed under its session's version, candidates practise against the version
of the exam they prepare for, the item editor's picker shows the tree an item is
written against, and a session takes its version from its year unless one is chosen."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.attempts import Attempt, AttemptItem
from exam_portal.models.bank import Item, ItemPool, ItemVersion
from exam_portal.models.sittings import ExamSession
from exam_portal.services import ServiceError
from exam_portal.services.exam_sessions import sittings
from exam_portal.services.item_bank import authoring
from question_bank import syllabus
from question_bank.levels import Level
from question_bank.subjects import Subject
from question_bank.workflow import ItemStatus

from ..unit.bank_samples import SINGLE
from .form_support import lock_forms
from .practice_support import candidate, login, objective_bank, publish, start, trainers
from .test_online_exams import EXAM_OPENS, _start, verified_registration
from .test_online_exams import admin as admin  # noqa: F401 - the fixture
from .test_sittings import _actor, _fields, _session

# Sittings as pages and rules: the same on both databases (their races run on both in
# test_state_races.py and test_hand_in_race.py).
pytestmark = pytest.mark.usefixtures("one_leg")

POLITICAL_THEORY = "开展社会工作服务应重点掌握的相关政治理论"  # a 2025 chapter only
OLD_FIRST_CHAPTER = "社会工作的内涵、原则及主要领域"  # 2018's first 综合能力 chapter


def _versions_drawn(app, attempt_id) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(
            sa.select(ItemVersion.syllabus_version)
            .join(AttemptItem, AttemptItem.item_version_id == ItemVersion.id)
            .where(AttemptItem.attempt_id == attempt_id)))


def _chapters_drawn(app, attempt_id) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(AttemptItem.chapter_code).where(
            AttemptItem.attempt_id == attempt_id)))


@pytest.fixture
def both_banks(app):
    """A full COMP_JR paper's worth of items under each version."""
    return {version: objective_bank(app, Subject.COMP_JR, chapters=3, syllabus_version=version)
            for version in ("2018", "2025")}


@pytest.fixture
def both_secure_banks(app):
    """A full COMP_JR exam form's worth of secure items under each version."""
    return {version: objective_bank(app, Subject.COMP_JR, chapters=3, syllabus_version=version,
                                    pool=ItemPool.SECURE)
            for version in ("2018", "2025")}


@pytest.mark.parametrize("version", ["2025", "2018"])
def test_an_online_paper_draws_only_items_of_its_sessions_syllabus(app, admin,
                                                                   both_secure_banks, version):
    both_banks = both_secure_banks
    session_id = _session(app, admin, levels=(Level.ASSISTANT,), syllabus_version=version)
    lock_forms(app, session_id, admin, [Subject.COMP_JR])
    registration_id, _user_id, email = verified_registration(app, admin, session_id)
    with freeze_time(EXAM_OPENS + timedelta(hours=1)):
        attempt_id = _start(login(app, email), registration_id)
    assert _versions_drawn(app, attempt_id) == {version}
    chapters = {c.code for c in syllabus.load(version).trees[Subject.COMP_JR].chapters}
    assert _chapters_drawn(app, attempt_id) <= chapters
    with app.app_context():
        drawn = set(db.session.scalars(sa.select(AttemptItem.item_id).where(
            AttemptItem.attempt_id == attempt_id)))
    assert drawn <= set(both_banks[version])


def test_a_2025_form_is_refused_when_only_2018_items_exist(app, admin):
    objective_bank(app, Subject.COMP_JR, syllabus_version="2018", pool=ItemPool.SECURE)
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    with pytest.raises(ServiceError, match="保密题库中可用的只有 0 道"):
        lock_forms(app, session_id, admin, [Subject.COMP_JR])
    registration_id, _user_id, email = verified_registration(app, admin, session_id)
    with freeze_time(EXAM_OPENS + timedelta(hours=1)):
        client = login(app, email)
        response = client.post(
            f"/exams/registrations/{registration_id}/subjects/COMP_JR/start",
            follow_redirects=True)
    assert "试卷尚未锁定" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Attempt.id))) == 0


def test_chapter_practice_lists_the_chapters_of_the_version_in_force(app, both_banks):
    _user_id, client = candidate(app)
    page = client.get("/practice/subjects/COMP_JR").get_data(as_text=True)
    assert POLITICAL_THEORY in page and OLD_FIRST_CHAPTER not in page
    assert "2025 年版考试大纲" in page
    assert 'name="syllabus_version" type="hidden" value="2025"' in page
    older = client.get("/practice/subjects/COMP_JR?syllabus=2018").get_data(as_text=True)
    assert OLD_FIRST_CHAPTER in older and POLITICAL_THEORY not in older
    # Odd input falls back to the default.
    odd = client.get("/practice/subjects/COMP_JR?syllabus=<x>")
    assert odd.status_code == 200 and POLITICAL_THEORY in odd.get_data(as_text=True)


def test_a_chapter_set_draws_the_chosen_versions_items_from_that_chapter(app, both_banks):
    _user_id, client = candidate(app)
    attempt_id = start(client, mode="CHAPTER", chapters=["COMP_JR.02"],
                       syllabus_version="2025")
    assert _versions_drawn(app, attempt_id) == {"2025"}
    assert _chapters_drawn(app, attempt_id) == {"COMP_JR.02"}
    older = start(client, mode="CHAPTER", chapters=["COMP_JR.02"], syllabus_version="2018")
    assert _versions_drawn(app, older) == {"2018"}
    mock = start(client, mode="MOCK", syllabus_version="bogus")  # the default: in force
    assert _versions_drawn(app, mock) == {"2025"}


def test_a_candidate_registered_for_a_2018_session_practises_against_2018(app, admin,
                                                                         both_banks):
    session_id = _session(app, admin, levels=(Level.ASSISTANT,), syllabus_version="2018")
    registration_id, _user_id, email = verified_registration(app, admin, session_id)
    with freeze_time(EXAM_OPENS - timedelta(days=1)):
        client = login(app, email)
        page = client.get("/practice/subjects/COMP_JR").get_data(as_text=True)
        assert OLD_FIRST_CHAPTER in page and "2018 年版考试大纲" in page
        dashboard = client.get("/practice/").get_data(as_text=True)
        assert "2018 年版考试大纲" in dashboard and "?syllabus=2025" in dashboard
        mock = start(client, mode="MOCK")
    assert _versions_drawn(app, mock) == {"2018"}


def test_the_editor_picker_shows_the_tree_the_item_is_written_against(app):
    author_id, reviewer_id = trainers(app)
    [item_id] = publish(app, [SINGLE], "2018")  # SINGLE links COMP_JR.04 (2018: 个案工作)
    client = login(app, _email(app, reviewer_id))
    page = client.get(f"/authoring/items/{item_id}/edit").get_data(as_text=True)
    assert 'name="syllabus_version" type="hidden" value="2018"' in page
    assert "个案工作方法" in page and POLITICAL_THEORY not in page
    assert f"/authoring/items/{item_id}/edit?syllabus=2025" in page
    switched = client.get(f"/authoring/items/{item_id}/edit?syllabus=2025").get_data(
        as_text=True)
    assert 'name="syllabus_version" type="hidden" value="2025"' in switched
    assert POLITICAL_THEORY in switched and "已按对照表换成建议的关联" in switched
    # The crosswalk's proposal is preselected: 2018's 个案工作方法 is 2025's chapter 6.
    assert '<option selected value="COMP_JR.06">' in switched
    # Saved against 2025: a new version pending review; the published one keeps 2018.
    form = _editor_fields(SINGLE, syllabus=["COMP_JR.06"], syllabus_version="2025")
    assert client.post(f"/authoring/items/{item_id}/edit", data=form).status_code == 302
    with app.app_context():
        item = db.session.get(Item, item_id)
        assert item.current_version.syllabus_version == "2025"
        assert item.current_version.status is ItemStatus.REVIEW
        assert item.current_version.chapter_code == "COMP_JR.06"
        assert item.published_version.syllabus_version == "2018"
        assert [link.code for link in item.published_version.links] == ["COMP_JR.04"]


def test_a_new_item_is_written_against_the_version_in_force(app):
    author_id, _ = trainers(app)
    client = login(app, _email(app, author_id))
    page = client.get("/authoring/items/new?subject=COMP_JR&item_type=SINGLE").get_data(
        as_text=True)
    assert 'name="syllabus_version" type="hidden" value="2025"' in page
    assert POLITICAL_THEORY in page
    form = _editor_fields(SINGLE, syllabus=["COMP_JR.03"], syllabus_version="2025")
    response = client.post("/authoring/items/new?subject=COMP_JR&item_type=SINGLE", data=form)
    assert response.status_code == 302
    older = _editor_fields(SINGLE, syllabus=["COMP_JR.04"], syllabus_version="2018")
    older["stem"] = "按旧大纲编写的题（  ）。"
    assert client.post("/authoring/items/new?subject=COMP_JR&item_type=SINGLE",
                       data=older).status_code == 302
    with app.app_context():
        versions = dict(db.session.execute(sa.select(ItemVersion.chapter_code,
                                                     ItemVersion.syllabus_version)).all())
    assert versions == {"COMP_JR.03": "2025", "COMP_JR.04": "2018"}


def test_authoring_refuses_a_version_whose_tree_is_not_loaded(app):
    author_id, _ = trainers(app)
    with app.app_context(), pytest.raises(ServiceError, match="2031"):
        authoring.create_item(SINGLE, _actor(author_id), syllabus_version="2031")


def test_a_session_takes_its_version_from_its_year_unless_one_is_chosen(app, admin):
    from .test_sittings_pages import SESSION_FORM, _admin_client

    client = _admin_client(app)
    page = client.get("/admin/sessions/new").get_data(as_text=True)
    assert "按考试年度选用" in page and "2026 年起的考试用 2025 年版" in page
    for name, chosen in (("按年度", ""), ("沿用旧大纲", "2018"), ("未来大纲", "2031")):
        client.post("/admin/sessions/new",
                    data={**SESSION_FORM, "name": name, "syllabus_version": chosen})
    older = {**SESSION_FORM, "name": "2025 年度", "year": "2025", "syllabus_version": "",
             "registration_opens_at": "2025-03-01T09:00",
             "registration_closes_at": "2025-03-31T17:00",
             "exam_opens_at": "2025-06-13T09:00", "exam_closes_at": "2025-06-14T17:00"}
    assert client.post("/admin/sessions/new", data=older).status_code == 302
    with app.app_context():
        assert dict(db.session.execute(
            sa.select(ExamSession.name, ExamSession.syllabus_version)).all()) == {
            "按年度": "2025", "沿用旧大纲": "2018", "2025 年度": "2018"}
        with pytest.raises(ServiceError, match="2031"):
            sittings.create_session(_fields(syllabus_version="2031"), _actor(admin))


def test_a_sessions_version_is_frozen_once_a_form_is_built(app, admin, both_secure_banks):
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    lock_forms(app, session_id, admin, [Subject.COMP_JR])
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        with pytest.raises(ServiceError, match="考试大纲版本"):
            sittings.update_session(session, _fields(levels=(Level.ASSISTANT,),
                                                     syllabus_version="2018"), _actor(admin))


def _email(app, user_id) -> str:
    from exam_portal.models.accounts import User

    with app.app_context():
        return db.session.get(User, user_id).email


def _editor_fields(content, **changes) -> dict:
    fields = {"stem": content.stem, "explanation": content.explanation,
              "difficulty": str(content.difficulty), "source": content.source.value,
              "keys": list(content.keys), "tags": "，".join(content.tags)}
    for letter, option in zip("abcde", content.options, strict=False):
        fields[f"option_{letter}"] = option
    fields.update(changes)
    return fields
