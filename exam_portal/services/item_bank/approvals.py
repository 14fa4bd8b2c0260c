"""Approving many items at once: the items ticked on a page of the list, in the request,
or every item under review in a filtered list (a reviewed import of thousands), as a
background job with its progress.

Both are set-based: per chunk of items, two locking reads, three UPDATEs, one INSERT of
the review records, one bank revision per subject and one audit event, instead of one
unit of work per item (6.6 ms each, 11 minutes for 100,000). The rules are the single
approval's (authoring.approve_item): another trainer than the version's author, a
version under review, the pool's writers only, and nothing still holding an import
file's defaults. Each refused item is reported with its reason and left as it was.
"""

from collections import Counter

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.bank import (
    Item,
    ItemReview,
    ItemVersion,
    ReviewDecision,
)
from exam_portal.models.jobs import Job
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.item_bank import authoring, item_list, pools, secure_pool
from exam_portal.services.platform import audit, jobs
from question_bank import workflow
from question_bank.workflow import ItemStatus

APPROVE_JOB = "items.approve"
PHASE_APPROVING = "items.approving"
# Items locked and written together: large enough that statements, not round trips,
# take the time; small enough that a SQLite writer holds the lock well under a second.
CHUNK = 2000
_IN_LIST = 1000


def approve_items(item_ids: list[int], reviewer, comment: str) -> tuple[int, list[tuple[int, str]]]:
    """Approve the items *item_ids* (locked together, in id order); return how many,
    and (item id, reason) for each one refused."""
    comment = comment.strip()
    if not comment:
        raise ServiceError(gettext("请填写审核意见。"))
    approved, refused = 0, []
    ids = sorted(set(item_ids))
    for start in range(0, len(ids), CHUNK):
        count, reasons = _approve_chunk(ids[start:start + CHUNK], reviewer, comment)
        approved += count
        refused += reasons
    return approved, refused


def _approve_chunk(ids: list[int], reviewer, comment: str) -> tuple[int, list[tuple[int, str]]]:
    rows = _locked_rows(ids)
    refused, publishing = [], []
    for row in rows:
        reason = _refusal(row, reviewer, comment)
        if reason:
            refused.append((row.id, reason))
        else:
            publishing.append(row)
    if not publishing:
        return 0, refused
    now = utcnow()
    if db.session.get_bind().dialect.name == "postgresql":
        # A status change writes each version's row anew, and its trigram index entries
        # with it (the rows of an import fill their pages: no room for a HOT update).
        authoring.hold_search_entries()
    item_ids = [row.id for row in publishing]
    version_ids = [row.current_version_id for row in publishing]
    superseded = [row.published_version_id for row in publishing
                  if row.published_version_id is not None]
    for part in _parts(superseded):
        db.session.execute(sa.update(ItemVersion).where(ItemVersion.id.in_(part))
                           .values(status=ItemStatus.SUPERSEDED)
                           .execution_options(synchronize_session=False))
    for part in _parts(version_ids):
        db.session.execute(sa.update(ItemVersion).where(ItemVersion.id.in_(part))
                           .values(status=ItemStatus.PUBLISHED)
                           .execution_options(synchronize_session=False))
    for part in _parts(item_ids):
        db.session.execute(sa.update(Item).where(Item.id.in_(part))
                           .values(status=ItemStatus.PUBLISHED,
                                   published_version_id=Item.current_version_id,
                                   updated_at=now)
                           .execution_options(synchronize_session=False))
    for part in _parts(version_ids):
        # Written by the database from the versions: no row travels twice.
        db.session.execute(sa.insert(ItemReview).from_select(
            ["version_id", "reviewer_id", "decision", "comment", "created_at"],
            sa.select(ItemVersion.id, sa.literal(reviewer.id),
                      sa.literal(ReviewDecision.APPROVED, ItemReview.decision.type),
                      sa.literal(comment, ItemReview.comment.type),
                      sa.literal(now, ItemReview.created_at.type))
            .where(ItemVersion.id.in_(part))))
    by_subject: dict = {}
    for row in publishing:
        by_subject.setdefault(row.subject, []).append(row.id)
    for subject in sorted(by_subject, key=lambda subject: subject.value):
        pools.bank_changed(subject, by_subject[subject])
    _forget_loaded(set(item_ids), set(version_ids) | set(superseded))
    # One audit event for the decision, naming every item it published.
    audit.record("item.approved_in_bulk", actor=reviewer,
                 details={"items": item_ids, "comment": comment[:500]})
    return len(publishing), refused


def _locked_rows(ids: list[int]) -> list:
    """The items, read under row locks taken in id order (as authoring.lock_items takes
    them, so two approvals of overlapping items, bulk or single, wait for each other
    instead of deadlocking), and their newest versions. Every change of a version
    holds its item's lock first, so the versions read after it stay as read."""
    rows = []
    for part in _parts(ids):
        rows += db.session.execute(
            sa.select(Item.id, Item.subject, Item.pool, Item.defaulted_fields,
                      Item.current_version_id, Item.published_version_id)
            .where(Item.id.in_(part)).order_by(Item.id).with_for_update()).all()
    versions = {}
    for part in _parts(sorted(row.current_version_id for row in rows
                              if row.current_version_id is not None)):
        for version in db.session.execute(
                sa.select(ItemVersion.id, ItemVersion.status, ItemVersion.author_id)
                .where(ItemVersion.id.in_(part))):
            versions[version.id] = version
    return [_Row(row, versions.get(row.current_version_id)) for row in rows]


class _Row:
    def __init__(self, item, version):
        self.id, self.subject, self.pool = item.id, item.subject, item.pool
        self.defaulted_fields = item.defaulted_fields
        self.current_version_id = item.current_version_id
        self.published_version_id = item.published_version_id
        self.version = version


def _refusal(row: _Row, reviewer, comment: str) -> str | None:
    if not secure_pool.may_write(row.pool, reviewer):
        return gettext("只有管理员指定的命题人员可以编写和审核保密题库的题目。")
    if row.version is None:
        return gettext("这道题目前不在待审核状态。")
    problem = workflow.review_problem(row.version.status, author_id=row.version.author_id,
                                      reviewer_id=reviewer.id, comment=comment,
                                      approving=True)
    if problem is None and row.defaulted_fields:
        problem = authoring.COMPLETION_PROBLEM
    return gettext(problem) if problem else None


def _parts(values: list) -> list[list]:
    return [values[start:start + _IN_LIST] for start in range(0, len(values), _IN_LIST)]


def _forget_loaded(item_ids: set[int], version_ids: set[int]) -> None:
    """Expire what this session already loaded of the rows written by statements."""
    for instance in list(db.session.identity_map.values()):
        if (isinstance(instance, Item) and instance.id in item_ids) or (
                isinstance(instance, ItemVersion) and instance.id in version_ids):
            db.session.expire(instance)


def review_count(chosen: dict[str, str], viewer) -> tuple[int, int | None]:
    """How many items under review the item list filtered by *chosen* holds for
    *viewer*, and the highest id among them."""
    filters = item_list.filters_from({**chosen, "status": ItemStatus.REVIEW.value}, viewer)
    query = item_list.id_query(filters)
    return db.session.execute(sa.select(sa.func.count(), sa.func.max(query.c.id))).one()


def start_approving(chosen: dict[str, str], reviewer, comment: str, *, expected: int) -> Job:
    """Approve, as a background job, every item under review in the item list filtered
    by *chosen* (the list's parameters), as it holds now: items put under review later
    are left for another decision. *expected* is the count the reviewer was shown."""
    comment = comment.strip()
    if not comment:
        raise ServiceError(gettext("请填写审核意见。"))
    count, through_id = review_count(chosen, reviewer)
    if not count:
        raise ServiceError(gettext("筛选结果中没有待审核的题目。"))
    if count != expected:
        raise ServiceError(gettext("筛选结果已有变化（现有 %(n)d 道待审核），请核对后再提交。",
                                   n=count))
    return jobs.submit(APPROVE_JOB, target_id=reviewer.id, actor=reviewer, params={
        "filters": {key: value for key, value in chosen.items() if value},
        "through_id": through_id, "count": count, "reviewer_id": reviewer.id,
        "comment": comment[:2000]})


@jobs.job_kind(APPROVE_JOB)
def _approve_job(params: dict, progress: jobs.Progress) -> dict:
    reviewer = db.session.get(User, params["reviewer_id"])
    if reviewer is None or not reviewer.is_active:
        raise ServiceError(gettext("审核人的账户已停用。"))
    filters = item_list.filters_from(
        {**params["filters"], "status": ItemStatus.REVIEW.value}, reviewer)
    query = item_list.id_query(filters)
    ids = db.session.scalars(sa.select(query.c.id).where(query.c.id <= params["through_id"])
                             .order_by(query.c.id)).all()
    approved, reasons = 0, Counter()
    progress(PHASE_APPROVING, 0, len(ids))
    for start in range(0, len(ids), CHUNK):
        count, refused = _approve_chunk(ids[start:start + CHUNK], reviewer, params["comment"])
        approved += count
        reasons.update(reason for _, reason in refused)
        # Each chunk commits with its progress: a run started again finds the approved
        # items no longer under review and carries on with the rest.
        progress(PHASE_APPROVING, min(len(ids), start + CHUNK), len(ids))
    if approved:
        authoring.merge_search_entries()
    return {"approved": approved, "refused": sum(reasons.values()),
            "refused_reasons": dict(reasons)}
