"""Authoring and review: items, versions and the DRAFT → REVIEW → PUBLISHED workflow."""

import sqlalchemy as sa
from flask_babel import gettext

from question_bank import syllabus, workflow
from question_bank.items import ItemContent, Problem, validate
from question_bank.workflow import ItemStatus

from ..extensions import db
from ..models.bank import Item, ItemReview, ItemVersion, ReviewDecision, content_hash
from ..models.types import utcnow
from . import ServiceError, audit


class InvalidItem(ServiceError):
    """The content breaks item rules; `problems` lists each one."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(problem.render(gettext) for problem in problems))
        self.problems = problems


def content_problems(content: ItemContent) -> list[Problem]:
    """Every reason *content* cannot be stored under the current syllabus."""
    return validate(content) + syllabus.link_problems(content, syllabus.load())


def create_item(content: ItemContent, author, *, external_id: str | None = None) -> Item:
    """Create a DRAFT item with its first version."""
    problems = content_problems(content)
    if problems:
        raise InvalidItem(problems)
    item = Item(external_id=external_id, subject=content.subject, item_type=content.item_type,
                status=ItemStatus.DRAFT, created_by_id=author.id)
    db.session.add(item)
    version = _new_version(item, content, author, number=1, status=ItemStatus.DRAFT)
    item.current_version = version
    db.session.flush()
    return item


def _new_version(item, content, author, *, number, status) -> ItemVersion:
    version = ItemVersion(item=item, number=number, status=status, author_id=author.id,
                          syllabus_version=syllabus.CURRENT_VERSION)
    version.set_content(content, syllabus.load().chapter_of)
    if status is ItemStatus.REVIEW:
        version.submitted_at = utcnow()
    db.session.add(version)
    return version


def revise_item(item: Item, content: ItemContent, author) -> ItemVersion:
    """Change what an item says.

    A draft (or a version still waiting for review) is changed in place; a published
    item gets a new version pending review, and candidates keep the approved one.
    """
    current = item.current_version
    if item.status is ItemStatus.RETIRED:
        raise ServiceError(gettext("这道题已经停用，不能修改。"))
    if content.subject is not item.subject or content.item_type is not item.item_type:
        raise ServiceError(gettext("不能修改题目的科目或题型；请新建题目。"))
    problems = content_problems(content)
    if problems:
        raise InvalidItem(problems)
    if current.status in workflow.EDITABLE:
        current.set_content(content, syllabus.load().chapter_of)
        current.author_id = author.id
        version = current
    else:
        version = _new_version(item, content, author, number=current.number + 1,
                               status=ItemStatus.REVIEW)
        item.current_version = version
        item.status = ItemStatus.REVIEW
    db.session.flush()
    return version


def is_unchanged(item: Item, content: ItemContent) -> bool:
    return item.current_version.content_hash == content_hash(content)


def submit_item(item: Item, actor) -> None:
    """Send the current draft for review."""
    problem = workflow.submit_problem(item.current_version.status)
    if problem:
        raise ServiceError(gettext(problem))
    item.current_version.status = ItemStatus.REVIEW
    item.current_version.submitted_at = utcnow()
    item.status = ItemStatus.REVIEW
    db.session.flush()


def approve_item(item: Item, reviewer, comment: str) -> None:
    """Publish the version under review; the one published before is superseded."""
    version = _reviewable(item, reviewer, comment, approving=True)
    if item.published_version is not None:
        item.published_version.status = ItemStatus.SUPERSEDED
    version.status = ItemStatus.PUBLISHED
    item.published_version = version
    item.status = ItemStatus.PUBLISHED
    db.session.add(ItemReview(version_id=version.id, reviewer_id=reviewer.id,
                              decision=ReviewDecision.APPROVED, comment=comment.strip()))
    audit.record("item.approved", target=item, actor=reviewer,
                 details={"version": version.number})
    db.session.flush()


def reject_item(item: Item, reviewer, reason: str) -> None:
    """Send the version under review back to its author as a draft, with the reason."""
    version = _reviewable(item, reviewer, reason, approving=False)
    version.status = ItemStatus.DRAFT
    item.status = ItemStatus.DRAFT
    db.session.add(ItemReview(version_id=version.id, reviewer_id=reviewer.id,
                              decision=ReviewDecision.REJECTED, comment=reason.strip()))
    audit.record("item.rejected", target=item, actor=reviewer,
                 details={"version": version.number})
    db.session.flush()


def _reviewable(item, reviewer, comment, *, approving) -> ItemVersion:
    version = item.current_version
    problem = workflow.review_problem(version.status, author_id=version.author_id,
                                      reviewer_id=reviewer.id, comment=comment,
                                      approving=approving)
    if problem:
        raise ServiceError(gettext(problem))
    return version


def approve_items(item_ids: list[int], reviewer, comment: str) -> tuple[int, list[tuple]]:
    """Approve several items; return how many, and (item, reason) for each refused one."""
    approved, refused = 0, []
    items = db.session.scalars(sa.select(Item).where(Item.id.in_(item_ids)).order_by(Item.id))
    for item in items:
        try:
            approve_item(item, reviewer, comment)
        except ServiceError as error:
            refused.append((item, str(error)))
        else:
            approved += 1
    return approved, refused


def retire_item(item: Item, actor) -> None:
    """Withdraw an item: no candidate gets it any more; its history stays."""
    problem = workflow.retire_problem(item.status)
    if problem:
        raise ServiceError(gettext(problem))
    item.status = ItemStatus.RETIRED
    if item.published_version is not None:
        item.published_version.status = ItemStatus.RETIRED
    item.published_version = None
    audit.record("item.retired", target=item, actor=actor)
    db.session.flush()


def published_content(item: Item) -> ItemContent | None:
    """What candidates get for *item*: only an approved version, never a draft."""
    if item.published_version is None:
        return None
    return item.published_version.to_domain()
