"""Item import: read a file, preview what would change, then apply it all or nothing."""

import enum
from dataclasses import dataclass, field
from pathlib import PurePath

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.bank import Item, ItemPool
from exam_portal.services import ServiceError
from exam_portal.services.item_bank import authoring, secure_pool
from exam_portal.services.platform import audit
from question_bank import syllabus
from question_bank.formats import (
    csv_format,
    gift,
    json_format,
    limits,
    moodle_xml,
    qti,
    xlsx_format,
)
from question_bank.formats.limits import UnreadableFile
from question_bank.formats.records import ItemRecord
from question_bank.i18n import N_
from question_bank.items import Problem
from question_bank.workflow import ItemStatus

READERS = {
    ".json": json_format, ".csv": csv_format, ".xlsx": xlsx_format,
    ".gift": gift, ".txt": gift, ".xml": moodle_xml, ".zip": qti,
}
# Formats that cannot express every item type return (data, refused) from write().
PARTIAL_FORMATS = {gift, moodle_xml, qti}
WEB_MAX_ITEMS = 5000


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass
class PlannedRow:
    record: ItemRecord
    action: Action
    problems: list[Problem] = field(default_factory=list)
    item: Item | None = None
    syllabus_version: str = ""  # the version the row is written against


@dataclass
class ImportPlan:
    rows: list[PlannedRow]

    def count(self, action: Action) -> int:
        return sum(1 for row in self.rows if row.action is action)

    @property
    def errors(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.action is Action.ERROR]


def read_file(filename: str, data: bytes, *, max_items: int | None,
              caps: limits.Limits = limits.WEB) -> list[ItemRecord]:
    """Read items from *data*; the file name's extension picks the format.

    Pure work that may take seconds: call it inside extensions.no_write_lock()."""
    reader = READERS.get(PurePath(filename or "").suffix.lower())
    if reader is None:
        raise ServiceError(gettext("只支持 %(formats)s 文件。", formats="、".join(READERS)))
    try:
        return reader.read(data, max_items=max_items, caps=caps)
    except UnreadableFile as error:
        raise ServiceError(gettext(error.message, **error.params)) from error


def plan_import(records: list[ItemRecord], syllabus_version: str | None = None, *,
                author=None) -> ImportPlan:
    """Decide, per record, whether it creates an item, updates one, changes nothing, or fails.

    Rows are read against *syllabus_version* when given. Otherwise a new item is written
    against the version in force and an update keeps the version its item is written
    against: a file never moves an item to another syllabus unless asked to. A row
    naming a secure item *author* may not change is an error (and says no more).
    """
    known = _items_by_external_id([r.external_id for r in records if r.external_id])
    for_new = authoring.writable_version(syllabus_version)
    rows, seen = [], set()
    for record in records:
        problems = list(record.problems)
        item = known.get(record.external_id) if record.external_id else None
        version = syllabus_version or (item.current_version.syllabus_version
                                       if item is not None else for_new)
        if record.content is not None and syllabus.is_loaded(version):
            # from_record validated the item rules already
            problems += syllabus.link_problems(record.content, syllabus.load(version))
        elif record.content is not None:
            problems.append(Problem("syllabus", N_("没有 %(version)s 年版考试大纲的数据。"),
                                    {"version": version}))
        if record.external_id:
            if record.external_id in seen:
                problems.append(Problem("external_id", N_("外部编号在文件中重复。")))
            seen.add(record.external_id)
        if item is not None and record.content is not None and not problems:
            if (item.subject, item.item_type) != (record.content.subject,
                                                  record.content.item_type):
                problems.append(Problem("type", N_("已有同编号的题目，但科目或题型不同。")))
            elif item.status is ItemStatus.RETIRED:
                problems.append(Problem("external_id", N_("同编号的题目已经停用。")))
            elif author is not None and not secure_pool.may_write(item.pool, author):
                problems.append(Problem("external_id", N_("外部编号已被占用，请换一个编号。")))
        if problems:
            rows.append(PlannedRow(record, Action.ERROR, problems, item, version))
        elif item is None:
            rows.append(PlannedRow(record, Action.CREATE, syllabus_version=version))
        elif authoring.is_unchanged(item, record.content, version):
            rows.append(PlannedRow(record, Action.UNCHANGED, item=item, syllabus_version=version))
        else:
            rows.append(PlannedRow(record, Action.UPDATE, item=item, syllabus_version=version))
    return ImportPlan(rows)


def _items_by_external_id(external_ids: list[str]) -> dict[str, Item]:
    found = {}
    for start in range(0, len(external_ids), 500):
        chunk = external_ids[start:start + 500]
        for item in db.session.scalars(sa.select(Item).where(Item.external_id.in_(chunk))):
            found[item.external_id] = item
    return found


def apply_import(plan: ImportPlan, author, *, filename: str,
                 pool: ItemPool = ItemPool.OPEN) -> dict[str, int]:
    """Create drafts (new items in *pool*) and pending versions for the whole plan, or
    nothing when any row fails."""
    if plan.errors:
        raise ServiceError(gettext("文件中有 %(n)d 处错误，未导入任何题目。", n=len(plan.errors)))
    creating: dict[str, list[PlannedRow]] = {}
    for row in plan.rows:
        if row.action is Action.CREATE:
            creating.setdefault(row.syllabus_version, []).append(row)
    for version, rows in sorted(creating.items()):
        authoring.create_items([(row.record.external_id, row.record.content) for row in rows],
                               author, version, pool=pool)
    for row in plan.rows:
        if row.action is Action.UPDATE:
            authoring.revise_item(row.item, row.record.content, author,
                                  syllabus_version=row.syllabus_version)
    summary = {action.value: plan.count(action) for action in Action if action is not Action.ERROR}
    audit.record("item.imported", actor=author, details={"file": filename[:200],
                                                          "pool": pool.value, **summary})
    return summary


def refresh_statistics() -> None:
    """After a large import, let the query planner see the new size of the bank at once.

    Without it PostgreSQL plans the item list with empty-table statistics until
    autovacuum catches up, and a filtered page can take 100 ms instead of 1.
    """
    bind = db.session.get_bind()
    if bind.dialect.name == "postgresql":
        db.session.execute(sa.text("ANALYZE items, item_versions, item_links"))
    else:
        db.session.execute(sa.text("ANALYZE"))
    db.session.commit()


def export_items(suffix: str, *, subject: str | None = None, query=None, viewer=None):
    """Write the newest version of the chosen items in the format named by *suffix*.

    Return the file and (external id or item id, problem) for each item the format
    cannot express. Secure items in it are audited as exported by *viewer* (the query
    of a page already holds only what its viewer may see; the command line exports
    the whole bank).
    """
    writer = READERS.get(suffix if suffix.startswith(".") else f".{suffix}")
    if writer is None:
        raise ServiceError(gettext("只支持 %(formats)s 文件。", formats="、".join(READERS)))
    if query is None:
        query = sa.select(Item).order_by(Item.id)
        if subject:
            query = query.where(Item.subject == subject)
    items = list(db.session.scalars(query.execution_options(yield_per=1000)))
    secure_pool.record_views(items, viewer, via="export")
    pairs = [(item.external_id, item.current_version.to_domain()) for item in items]
    if writer in PARTIAL_FORMATS:
        return writer.write(pairs)
    return writer.write(pairs), []
