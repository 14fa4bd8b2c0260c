"""Completing imported drafts: the questions an import filled in from the file's
defaults (subject, difficulty, syllabus node, an explanation placeholder) are drafts
that say which fields still hold them (Item.needs_completing). A trainer completes
them one by one in the editor (saving clears them all), or for a selection at once:
setting a syllabus node, a subject or a difficulty replaces the default (or confirms
it, when it is the same) and clears that field. Only complete drafts go on to review,
so nothing a trainer has not looked at reaches candidates.
"""

import dataclasses

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.bank import Item
from exam_portal.services import ServiceError
from exam_portal.services.item_bank import authoring, secure_pool
from exam_portal.services.platform import audit
from question_bank import syllabus
from question_bank.subjects import Subject
from question_bank.workflow import ItemStatus

MAX_BULK = 500


def list_query(pools, subject: Subject | None = None):
    """Imported drafts still holding defaults, in *pools*, newest first."""
    query = sa.select(Item).where(Item.defaulted_fields != "", Item.pool.in_(pools))
    if subject is not None:
        query = query.where(Item.subject == subject)
    return query.order_by(Item.id.desc())


def count(pools, subject: Subject | None = None) -> int:
    query = list_query(pools, subject).order_by(None).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(query))


def set_fields(item_ids: list[int], actor, *, node: str | None = None,
               subject: Subject | None = None,
               difficulty: int | None = None) -> tuple[int, list[tuple[int, str]]]:
    """Set one field (a syllabus node, which also gives the subject; a subject; or a
    difficulty) of the drafts *item_ids*; return how many changed, and (item id,
    reason) for each left as it was."""
    done, refused = [], []
    for item in authoring.lock_items(sorted(set(item_ids))[:MAX_BULK]):
        try:
            _set(item, actor, node=node, subject=subject, difficulty=difficulty)
        except ServiceError as error:
            refused.append((item.id, str(error)))
        else:
            done.append(item.id)
    db.session.flush()
    if done:
        audit.record("item.completed_in_bulk", actor=actor, details={
            "items": done, "node": node, "subject": subject and subject.value,
            "difficulty": difficulty})
    return len(done), refused


def _set(item: Item, actor, *, node, subject, difficulty) -> None:
    secure_pool.check_writer(item.pool, actor)
    version = item.current_version
    if version.status is not ItemStatus.DRAFT:
        raise ServiceError(gettext("只有草稿可以这样修改。"))
    content = version.to_domain()
    remaining = set(item.needs_completing)
    if node is not None:
        found = syllabus.load(version.syllabus_version).node(node)
        if found is None:
            raise ServiceError(gettext("这道题按 %(version)s 年版考试大纲编写，没有知识点 "
                                       "%(code)s。", version=version.syllabus_version,
                                       code=node[:40]))
        subject = found.subject
        content = dataclasses.replace(content, subject=subject, syllabus=(found.code,))
        remaining -= {"syllabus"}
    if subject is not None:
        if subject is not item.subject and "subject" not in item.needs_completing:
            raise ServiceError(gettext("题目的科目不是导入时的默认值，不能修改；请新建题目。"))
        content = dataclasses.replace(content, subject=subject)
        remaining -= {"subject"}
    if difficulty is not None:
        content = dataclasses.replace(content, difficulty=difficulty)
        remaining -= {"difficulty"}
    problems = authoring.content_problems(content, version.syllabus_version)
    if problems:
        raise ServiceError("；".join(problem.render(gettext) for problem in problems))
    version.set_content(content, syllabus.load(version.syllabus_version).chapter_of)
    version.author_id = actor.id
    item.subject = content.subject
    item.defaulted_fields = ",".join(name for name in item.needs_completing
                                     if name in remaining)


def submit(item_ids: list[int], actor) -> tuple[int, list[tuple[int, str]]]:
    """Send the drafts *item_ids* for review; return how many went, and (item id,
    reason) for each that did not (one still holding defaults, say)."""
    done, refused = 0, []
    for item in authoring.lock_items(sorted(set(item_ids))[:MAX_BULK]):
        try:
            authoring.submit_locked(item, actor)
        except ServiceError as error:
            refused.append((item.id, str(error)))
        else:
            done += 1
    db.session.flush()
    return done, refused
