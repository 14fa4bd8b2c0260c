"""Building blocks for the practice tests: a published bank, a logged-in candidate, the
browser's save protocol."""

import itertools
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.attempts import AttemptItem
from exam_portal.models.bank import ItemPool
from exam_portal.services.delivery import paper_cache
from question_bank import delivery
from question_bank.items import ItemContent, ItemType, KeyPoint, LawReference, SubQuestion
from question_bank.subjects import Subject

from ..bank_factory import publish, trainers  # noqa: F401 - re-exported for the tests
from ..conftest import PASSWORD
from ..factories import make_user

# Planted in every explanation and key point: none of it may reach a candidate's
# browser before the review is allowed.
SENTINEL = "SENTINEL-KEY-TEXT"
_numbers = itertools.count(1)


def choice_item(subject: Subject, item_type: ItemType, chapter: str, *, law=None) -> ItemContent:
    n = next(_numbers)
    options = tuple(f"选项{letter}-{n}" for letter in "ABCDE"[:4 if item_type is ItemType.SINGLE
                                                            else 5])
    keys = ("ABCD"[n % 4],) if item_type is ItemType.SINGLE else ("A", "C", "E")[: 2 + n % 2]
    return ItemContent(subject=subject, item_type=item_type, stem=f"第 {n} 道测试题的题干（  ）。",
                       options=options, keys=keys, explanation=f"{SENTINEL} 解析 {n}",
                       difficulty=2, syllabus=(chapter,), law=law)


def case_item(subject: Subject, chapter: str, points=20) -> ItemContent:
    n = next(_numbers)
    half = Decimal(points) / 2
    return ItemContent(
        subject=subject, item_type=ItemType.CASE_ANALYSIS, stem=f"案例 {n}：某社区……",
        explanation=f"{SENTINEL} 评分说明 {n}", difficulty=3, syllabus=(chapter,),
        points=Decimal(points),
        sub_questions=tuple(SubQuestion(f"小题 {k}", half,
                                        (KeyPoint(f"{SENTINEL} 要点 {n}-{k}", half),))
                            for k in (1, 2)))


def plan_item(subject: Subject, chapter: str, points=20) -> ItemContent:
    n = next(_numbers)
    half = Decimal(points) / 2
    return ItemContent(
        subject=subject, item_type=ItemType.PLAN_DESIGN, stem=f"方案设计 {n}：……",
        explanation=f"{SENTINEL} 评分说明 {n}", difficulty=3, syllabus=(chapter,),
        points=Decimal(points),
        key_points=(KeyPoint(f"{SENTINEL} 目标 {n}", half), KeyPoint(f"{SENTINEL} 评估 {n}", half)))


def objective_bank(app, subject=Subject.COMP_JR, *, singles=70, multis=25, chapters=3,
                   law=None, syllabus_version=None, pool=ItemPool.OPEN) -> list[int]:
    codes = [f"{subject.value}.{n:02d}" for n in range(1, chapters + 1)]
    contents = [choice_item(subject, ItemType.SINGLE, codes[n % chapters], law=law)
                for n in range(singles)]
    contents += [choice_item(subject, ItemType.MULTI, codes[n % chapters], law=law)
                 for n in range(multis)]
    return publish(app, contents, syllabus_version, pool=pool)


LAW = LawReference("中华人民共和国老年人权益保障法", "第十四条", date(2019, 1, 1))


def candidate(app, email=None):
    email = email or f"candidate{next(_numbers)}@example.com"
    user_id = make_user(app, email=email)
    return user_id, login(app, email)


def login(app, email):
    client = app.test_client()
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def start(client, subject=Subject.COMP_JR, mode="MOCK", **fields) -> int:
    response = client.post(f"/practice/subjects/{subject.value}/start",
                           data={"mode": mode, **fields})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "/practice/attempts/" in location, location
    return int(location.rsplit("/", 1)[1])


def open_attempt(client, attempt_id) -> dict:
    response = client.post(f"/practice/attempts/{attempt_id}/open")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def save(client, attempt_id, position, device, seq, selected=None, text=None, flagged=False,
         **extra):
    body = {"seq": seq, "device": device, "flagged": flagged, **extra}
    if text is not None:
        body["text"] = text
    else:
        body["selected"] = selected if selected is not None else ["A"]
    return client.put(f"/practice/attempts/{attempt_id}/responses/{position}", json=body)


def layout(app, attempt_id) -> list[AttemptItem]:
    with app.app_context():
        items = db.session.scalars(sa.select(AttemptItem).where(
            AttemptItem.attempt_id == attempt_id).order_by(AttemptItem.position)).all()
        db.session.expunge_all()
        return items


def shown_keys(app, attempt_id) -> dict[int, list[str]]:
    """The key of every position in the letters the candidate sees (test-only)."""
    keys = {}
    with app.app_context():
        for item in layout(app, attempt_id):
            content = paper_cache.content(item.item_version_id)
            if content.item_type.is_choice:
                keys[item.position] = delivery.stored_to_shown(
                    content.keys, delivery.decode_order(item.option_order))
    return keys


def wrong_choice(keys: list[str], item_type_count: int = 4) -> list[str]:
    letters = "ABCDE"[:item_type_count]
    return [next(letter for letter in letters if letter not in keys)]


def run_marking(app) -> str:
    """The expiry cron (`flask attempts expire`), which marks the exam papers handed in
    since its last run; returns what it printed."""
    result = app.test_cli_runner().invoke(args=["attempts", "expire"])
    assert result.exit_code == 0, result.output
    return result.output
