"""A small published item bank for a subject, built through the review workflow.

Every option text starts with the word for its own (stored) letter, A 甲, B 乙, C 丙,
D 丁, E 戊, so a test can pick an option by its text whatever order the paper shows
the options in, and knows which stored letter that is. The key of every single-choice
item is 甲 (A); the keys of every multiple-choice item are 甲 and 丙 (A, C).
"""

import itertools

import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.bank import Item, ItemPool
from exam_portal.services.item_bank import approvals, authoring
from question_bank.items import ItemContent, ItemType
from question_bank.subjects import Subject

from .factories import make_user

WORDS = {"A": "甲", "B": "乙", "C": "丙", "D": "丁", "E": "戊"}
SINGLE_KEYS = ("A",)
MULTI_KEYS = ("A", "C")
_bank_counter = itertools.count(1)


def option_text(letter: str, number: int) -> str:
    return f"{WORDS[letter]}做法（第 {number} 题）"


def bank_item(subject: Subject, item_type: ItemType, number: int, chapter: str) -> ItemContent:
    letters = "ABCD" if item_type is ItemType.SINGLE else "ABCDE"
    return ItemContent(
        subject=subject, item_type=item_type,
        stem=f"练习题 {number}：社会工作者在这种情况下应当采取哪种做法（  ）？",
        options=tuple(option_text(letter, number) for letter in letters),
        keys=SINGLE_KEYS if item_type is ItemType.SINGLE else MULTI_KEYS,
        explanation=f"第 {number} 题的解析。", difficulty=3, syllabus=(chapter,),
    )


def trainers(app) -> tuple[int, int]:
    """An author and a reviewer (the first two trainers, created when missing)."""
    with app.app_context():
        ids = db.session.scalars(sa.select(User.id).where(User.role == Role.TRAINER)
                                 .order_by(User.id)).all()
    if len(ids) >= 2:
        return ids[0], ids[1]
    run = next(_bank_counter)
    return (make_user(app, Role.TRAINER, email=f"bank.author.{run}@example.com"),
            make_user(app, Role.TRAINER, email=f"bank.reviewer.{run}@example.com"))


def publish(app, contents: list[ItemContent], syllabus_version: str | None = None, *,
            pool: ItemPool = ItemPool.OPEN) -> list[int]:
    """Create, submit and approve items (by two different trainers) in *pool*, written
    against *syllabus_version* (default: the one in force); return their ids. For the
    secure pool both trainers are made exam authors."""
    author_id, reviewer_id = trainers(app)
    with app.app_context():
        author, reviewer = db.session.get(User, author_id), db.session.get(User, reviewer_id)
        if pool is ItemPool.SECURE:
            author.is_exam_author = reviewer.is_exam_author = True
        newest = db.session.scalar(sa.select(sa.func.max(Item.id))) or 0
        authoring.create_items([(None, content) for content in contents], author,
                               syllabus_version, pool=pool)
        ids = list(db.session.scalars(sa.select(Item.id).where(Item.id > newest)
                                      .order_by(Item.id)))
        authoring.submit_items(ids, author)
        approvals.approve_items(ids, reviewer, "内容准确")
        db.session.commit()
        return ids


def publish_bank(app, subject: Subject = Subject.PRAC_JR, *, singles: int = 60,
                 multis: int = 20, chapters: int = 14) -> list[int]:
    """Publish *singles* SINGLE and *multis* MULTI items of *subject* (spread over its
    chapters .01 … .<chapters>); return the item ids. The defaults are exactly one mock
    paper of an objective subject."""
    types = [ItemType.SINGLE] * singles + [ItemType.MULTI] * multis
    return publish(app, [
        bank_item(subject, item_type, number, f"{subject.value}.{(number - 1) % chapters + 1:02d}")
        for number, item_type in enumerate(types, start=1)])
