"""Authoring and review: items, versions and the DRAFT → REVIEW → PUBLISHED workflow."""


import threading
from contextlib import contextmanager

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.bank import (
    SEARCH_INDEX,
    Item,
    ItemLink,
    ItemPool,
    ItemReview,
    ItemVersion,
    ReviewDecision,
    content_hash,
    new_external_id,
    version_columns,
)
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.item_bank import pools, secure_pool
from exam_portal.services.platform import audit, bulk, syllabi
from question_bank import syllabus, workflow
from question_bank.i18n import N_
from question_bank.items import ItemContent, Problem, validate
from question_bank.workflow import ItemStatus


class InvalidItem(ServiceError):
    """The content breaks item rules; `problems` lists each one."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(problem.render(gettext) for problem in problems))
        self.problems = problems


def content_problems(content: ItemContent, syllabus_version: str) -> list[Problem]:
    """Every reason *content* cannot be stored against the syllabus *syllabus_version*."""
    return validate(content) + syllabus.link_problems(content, syllabus.load(syllabus_version))


def writable_version(syllabus_version: str | None) -> str:
    """The version a new item or version is written against: *syllabus_version* if
    given, else the one in force; a version whose trees are not loaded is refused."""
    version = syllabus_version or syllabi.in_force()
    if not syllabus.is_loaded(version):
        raise ServiceError(gettext("没有 %(version)s 年版考试大纲的数据，不能按它编写题目。",
                                   version=str(version)[:10]))
    return version


def create_item(content: ItemContent, author, *, external_id: str | None = None,
                syllabus_version: str | None = None, pool: ItemPool = ItemPool.OPEN) -> Item:
    """Create a DRAFT item in *pool* with its first version, written against
    *syllabus_version* (default: the version in force); without an *external_id* it
    gets a new one (models.bank.new_external_id)."""
    secure_pool.check_writer(pool, author)
    version_code = writable_version(syllabus_version)
    problems = content_problems(content, version_code)
    if problems:
        raise InvalidItem(problems)
    item = Item(external_id=external_id or new_external_id(), subject=content.subject,
                item_type=content.item_type,
                status=ItemStatus.DRAFT, created_by_id=author.id, pool=pool)
    db.session.add(item)
    version = _new_version(item, content, author, number=1, status=ItemStatus.DRAFT,
                           syllabus_version=version_code)
    item.current_version = version
    db.session.flush()
    return item


def create_items(rows: list[tuple[str | None, ItemContent]], author,
                 syllabus_version: str | None = None, pool: ItemPool = ItemPool.OPEN, *,
                 defaulted: list[tuple[str, ...]] | None = None) -> None:
    """Create many DRAFT items at once (imports), written against *syllabus_version*
    (default: the version in force); every content must be valid against it already.
    A row without an external id gets a new one; *defaulted* (parallel to *rows*) names
    the fields each took from its file's defaults.

    Bulk INSERTs instead of one unit of work per item: an import of 100,000 items
    would otherwise spend minutes in per-object bookkeeping.
    """
    secure_pool.check_writer(pool, author)
    syllabus_version = writable_version(syllabus_version)
    chapter_of = syllabus.load(syllabus_version).chapter_of
    now = utcnow()
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    if postgresql:
        hold_search_entries()
    else:
        # FTS5 stops merging its index segments as they fill (a quarter of the time of
        # 100,000 items); merging resumes at the end, and merge_search_entries() does
        # the merges left over after the commit.
        _sqlite_search_merging(0)
    for start in range(0, len(rows), _BULK_CHUNK):
        chunk = rows[start:start + _BULK_CHUNK]
        fields = defaulted[start:start + _BULK_CHUNK] if defaulted else [()] * len(chunk)
        item_rows = [{"external_id": external_id or new_external_id(),
                      "subject": content.subject, "item_type": content.item_type,
                      "status": ItemStatus.DRAFT, "pool": pool,
                      "defaulted_fields": ",".join(names),
                      "created_by_id": author.id, "created_at": now, "updated_at": now}
                     for (external_id, content), names in zip(chunk, fields, strict=True)]
        item_ids = _insert(Item, item_rows, postgresql)
        versions, links = [], []
        for item_id, (_, content) in zip(item_ids, chunk, strict=True):
            columns, version_links = version_columns(content, chapter_of)
            versions.append({**columns, "item_id": item_id, "number": 1,
                             "status": ItemStatus.DRAFT, "author_id": author.id,
                             "syllabus_version": syllabus_version, "created_at": now})
            links.append(version_links)
        version_ids = _insert(ItemVersion, versions, postgresql)
        bulk.insert_rows(ItemLink.__table__, [
            {"version_id": version_id, "code": code, "chapter_code": chapter}
            for version_id, version_links in zip(version_ids, links, strict=True)
            for code, chapter in version_links
        ])
        # One statement, not one per item: each new item has one version.
        db.session.execute(
            sa.update(Item).where(Item.id.in_(item_ids), ItemVersion.item_id == Item.id)
            .values(current_version_id=ItemVersion.id)
            .execution_options(synchronize_session=False))
    if not postgresql:
        _sqlite_search_merging(_FTS5_AUTOMERGE)


def hold_search_entries() -> None:
    """PostgreSQL: let this transaction's new trigram entries wait in the search index's
    pending list (searches read it too) for merge_search_entries(), instead of each
    row updating the index (half a minute of an import of 100,000 items)."""
    db.session.execute(sa.text("SET LOCAL gin_pending_list_limit = '1GB'"))


@contextmanager
def search_entries_merged_meanwhile(every: float = 1.0):
    """PostgreSQL: while the block writes many items in one transaction, merge the
    search index's pending entries (held by hold_search_entries) from a second
    connection every *every* seconds, so the merging (half a minute for 100,000 items)
    runs beside the writing instead of after the commit. Pending entries are merged
    whether or not their transaction has committed yet: an index entry is not a row.
    Nothing happens on SQLite, where there is one writer."""
    if db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    engine, stop = db.engine, threading.Event()

    def merge() -> None:
        try:
            with engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT") as connection:
                connection.execute(sa.text("SET work_mem = '64MB'"))
                while not stop.wait(every):
                    connection.execute(sa.select(sa.func.gin_clean_pending_list(
                        sa.text(f"'{SEARCH_INDEX}'::regclass"))))
        except sa.exc.SQLAlchemyError:
            return  # merge_search_entries() after the commit does what is left

    merging = threading.Thread(target=merge, name="search-index-merge", daemon=True)
    merging.start()
    try:
        yield
    finally:
        stop.set()
        merging.join()


def merge_search_entries() -> None:
    """After a large write committed: merge its search entries into the index in one go,
    so no trainer's next save has to (PostgreSQL: the pending trigram entries; SQLite:
    the FTS5 segments left unmerged)."""
    if db.session.get_bind().dialect.name != "postgresql":
        connection = db.session.connection().connection.driver_connection
        while True:
            before = connection.total_changes
            db.session.execute(sa.text(
                "INSERT INTO item_search(item_search, rank) VALUES ('merge', 500)"))
            if connection.total_changes - before < 2:  # the command's own row: no work
                break
        db.session.commit()
        return
    db.session.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
    db.session.execute(sa.text("SET LOCAL work_mem = '256MB'"))
    db.session.execute(sa.select(sa.func.gin_clean_pending_list(
        sa.text(f"'{SEARCH_INDEX}'::regclass"))))
    db.session.commit()


_FTS5_AUTOMERGE = 4  # SQLite's default


def _sqlite_search_merging(segments: int) -> None:
    db.session.execute(sa.text(
        "INSERT INTO item_search(item_search, rank) VALUES ('automerge', :segments)"),
        {"segments": segments})


def _insert(model, rows: list[dict], postgresql: bool) -> list[int]:
    """Insert *rows*; return their new ids in order."""
    if postgresql:
        # Ids taken from the sequence first, so the rows can go by COPY (no RETURNING).
        sequence = db.session.scalar(sa.select(sa.func.pg_get_serial_sequence(
            model.__tablename__, "id")))
        ids = db.session.scalars(sa.select(sa.func.nextval(sequence)).select_from(
            sa.func.generate_series(1, len(rows)))).all()
    else:
        # SQLite: the ids after the largest are this transaction's, as it holds the only
        # write lock (BEGIN IMMEDIATE). An ordered INSERT … RETURNING went in batches of
        # a few rows, each spliced onto all before it: minutes for 100,000 items.
        first = (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1
        ids = list(range(first, first + len(rows)))
    bulk.insert_rows(model.__table__, [
        {**row, "id": id_} for row, id_ in zip(rows, ids, strict=True)])
    return ids


_BULK_CHUNK = 2000


def _new_version(item, content, author, *, number, status, syllabus_version) -> ItemVersion:
    version = ItemVersion(item=item, number=number, status=status, author_id=author.id,
                          syllabus_version=syllabus_version)
    version.set_content(content, syllabus.load(syllabus_version).chapter_of)
    if status is ItemStatus.REVIEW:
        version.submitted_at = utcnow()
    db.session.add(version)
    return version


def _lock(item: Item) -> None:
    """Re-read *item* and its newest version under a row lock, so two trainers acting
    on one item at the same moment act one after the other (PostgreSQL; SQLite
    already serialises writers)."""
    lock_items([item.id])


def lock_items(item_ids: list[int]) -> list[Item]:
    """Re-read the items and their newest versions under row locks, taken in id order
    (so two bulk actions never wait on each other in opposite order); two statements
    however many items."""
    items = list(db.session.scalars(
        sa.select(Item).where(Item.id.in_(item_ids)).order_by(Item.id)
        # The versions they replace, read in one more statement rather than one each.
        .options(sa.orm.selectinload(Item.published_version))
        .with_for_update().execution_options(populate_existing=True)))
    version_ids = [item.current_version_id for item in items
                   if item.current_version_id is not None]
    if version_ids:
        db.session.scalars(
            sa.select(ItemVersion).where(ItemVersion.id.in_(version_ids))
            .order_by(ItemVersion.id).with_for_update()
            .execution_options(populate_existing=True)).all()
    return items


def revise_item(item: Item, content: ItemContent, author, *,
                syllabus_version: str | None = None,
                defaulted: tuple[str, ...] = ()) -> ItemVersion:
    """Change what an item says, written against *syllabus_version* (default: the
    version its newest version is written against).

    A draft (or a version still waiting for review) is changed in place; a published
    item gets a new version pending review, and candidates keep the approved one.
    The fields of *content* that still hold an import file's defaults are *defaulted*
    (none when a trainer saved the item: it is complete).
    """
    _lock(item)
    secure_pool.check_writer(item.pool, author)
    current = item.current_version
    if item.status is ItemStatus.RETIRED:
        raise ServiceError(gettext("这道题已经停用，不能修改。"))
    if content.subject is not item.subject or content.item_type is not item.item_type:
        raise ServiceError(gettext("不能修改题目的科目或题型；请新建题目。"))
    version_code = writable_version(syllabus_version or current.syllabus_version)
    problems = content_problems(content, version_code)
    if problems:
        raise InvalidItem(problems)
    if current.status in workflow.EDITABLE:
        current.syllabus_version = version_code
        current.set_content(content, syllabus.load(version_code).chapter_of)
        current.author_id = author.id
        version = current
    else:
        version = _new_version(item, content, author, number=current.number + 1,
                               status=ItemStatus.REVIEW, syllabus_version=version_code)
        item.current_version = version
        item.status = ItemStatus.REVIEW
    item.defaulted_fields = ",".join(defaulted)
    db.session.flush()
    return version


def is_unchanged(item: Item, content: ItemContent, syllabus_version: str) -> bool:
    """True when *item*'s newest version already says *content* against that version."""
    current = item.current_version
    return (current.content_hash == content_hash(content)
            and current.syllabus_version == syllabus_version)


def submit_item(item: Item, actor) -> None:
    """Send the current draft for review."""
    _lock(item)
    _submit(item, actor)
    db.session.flush()


def submit_items(item_ids: list[int], actor) -> None:
    """Send several drafts for review (locked together); ServiceError if one cannot go."""
    # One flush for all (batched statements), not one per item's lazy loads.
    with db.session.no_autoflush:
        for item in lock_items(item_ids):
            _submit(item, actor)
    db.session.flush()


def submit_locked(item: Item, actor) -> None:
    """Send the current draft of *item*, already locked (lock_items), for review."""
    _submit(item, actor)


def _submit(item: Item, actor) -> None:
    secure_pool.check_writer(item.pool, actor)
    problem = workflow.submit_problem(item.current_version.status) or completion_problem(item)
    if problem:
        raise ServiceError(gettext(problem))
    item.current_version.status = ItemStatus.REVIEW
    item.current_version.submitted_at = utcnow()
    item.status = ItemStatus.REVIEW


DEFAULTED_LABELS = {"subject": N_("科目"), "difficulty": N_("难度"), "syllabus": N_("大纲知识点"),
                    "explanation": N_("解析")}


COMPLETION_PROBLEM = N_("这道题还有导入时填入的默认值，请先补全或确认后再提交审核。")


def completion_problem(item: Item) -> str | None:
    """Why *item* cannot go on to review: fields still holding an import file's
    defaults (a message id, rendered by the caller), or None."""
    return COMPLETION_PROBLEM if item.needs_completing else None


def approve_item(item: Item, reviewer, comment: str) -> None:
    """Publish the version under review; the one published before is superseded."""
    _lock(item)
    version = _publish(item, reviewer, comment)
    pools.bank_changed(item.subject, [item.id])
    audit.record("item.approved", target=item, actor=reviewer,
                 details={"version": version.number})
    db.session.flush()


def _publish(item: Item, reviewer, comment: str) -> ItemVersion:
    version = _check_review(item, reviewer, comment, approving=True)
    problem = completion_problem(item)
    if problem:
        raise ServiceError(gettext(problem))
    if item.published_version is not None:
        item.published_version.status = ItemStatus.SUPERSEDED
    version.status = ItemStatus.PUBLISHED
    item.published_version = version
    item.status = ItemStatus.PUBLISHED
    db.session.add(ItemReview(version_id=version.id, reviewer_id=reviewer.id,
                              decision=ReviewDecision.APPROVED, comment=comment.strip()))
    return version


def reject_item(item: Item, reviewer, reason: str) -> None:
    """Send the version under review back to its author as a draft, with the reason."""
    _lock(item)
    version = _check_review(item, reviewer, reason, approving=False)
    version.status = ItemStatus.DRAFT
    item.status = ItemStatus.DRAFT
    db.session.add(ItemReview(version_id=version.id, reviewer_id=reviewer.id,
                              decision=ReviewDecision.REJECTED, comment=reason.strip()))
    audit.record("item.rejected", target=item, actor=reviewer,
                 details={"version": version.number})
    db.session.flush()


def _check_review(item, reviewer, comment, *, approving) -> ItemVersion:
    secure_pool.check_writer(item.pool, reviewer)
    version = item.current_version
    problem = workflow.review_problem(version.status, author_id=version.author_id,
                                      reviewer_id=reviewer.id, comment=comment,
                                      approving=approving)
    if problem:
        raise ServiceError(gettext(problem))
    return version


def retire_item(item: Item, actor) -> None:
    """Withdraw an item: no candidate gets it any more; its history stays."""
    _lock(item)
    secure_pool.check_writer(item.pool, actor)
    problem = workflow.retire_problem(item.status)
    if problem:
        raise ServiceError(gettext(problem))
    item.status = ItemStatus.RETIRED
    if item.published_version is not None:
        item.published_version.status = ItemStatus.RETIRED
    item.published_version = None
    pools.bank_changed(item.subject, [item.id])
    audit.record("item.retired", target=item, actor=actor)
    db.session.flush()


def published_content(item: Item) -> ItemContent | None:
    """What candidates get for *item*: only an approved version, never a draft."""
    if item.published_version is None:
        return None
    return item.published_version.to_domain()
