"""Item import: read a file, preview what would change, then apply it.

The portal's own files (XLSX, CSV, JSON) round-trip its items: by default a file with
any error imports nothing. Files from other systems (GIFT, Moodle XML, QTI) hold
questions the portal cannot represent, and lack fields it needs: the trainer gives
defaults for the file (FileDefaults), and by default the representable questions are
imported and the rest handed back (rejects) to fix. Either mode can be chosen for
either kind of file. A question that took defaults becomes a draft that needs
completing; an update never replaces what an item says with a default.
"""

import dataclasses
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePath

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.bank import Item, ItemPool
from exam_portal.services import ServiceError
from exam_portal.services.item_bank import authoring, secure_pool
from exam_portal.services.platform import audit, syllabi
from question_bank import syllabus
from question_bank.formats import (
    csv_format,
    foreign,
    gift,
    json_format,
    limits,
    moodle_xml,
    qti,
    rejects,
    xlsx_format,
)
from question_bank.formats.limits import UnreadableFile
from question_bank.formats.records import ItemRecord, to_record
from question_bank.i18n import N_
from question_bank.items import ItemContent, Problem
from question_bank.subjects import Subject
from question_bank.workflow import ItemStatus

READERS = {
    ".json": json_format, ".csv": csv_format, ".xlsx": xlsx_format,
    ".gift": gift, ".txt": gift, ".xml": moodle_xml, ".zip": qti,
}
# Formats that cannot express every item type return (data, refused) from write().
PARTIAL_FORMATS = {gift, moodle_xml, qti}
# Other systems' formats: read with the file's defaults, the representable questions
# imported by default.
FOREIGN_FORMATS = PARTIAL_FORMATS
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
    # What the item will say (the record's content, with an updated item's own values
    # where the record holds the file's defaults), and the fields still defaulted.
    content: ItemContent | None = None
    defaulted: tuple[str, ...] = ()

    @property
    def needs_completing(self) -> bool:
        return self.action in (Action.CREATE, Action.UPDATE) and bool(self.defaulted)


@dataclass
class ImportPlan:
    rows: list[PlannedRow]

    def count(self, action: Action) -> int:
        return sum(1 for row in self.rows if row.action is action)

    @property
    def errors(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.action is Action.ERROR]

    @property
    def completing(self) -> int:
        return sum(1 for row in self.rows if row.needs_completing)

    @property
    def changes(self) -> int:
        return self.count(Action.CREATE) + self.count(Action.UPDATE)


def is_foreign(filename: str) -> bool:
    """True when *filename* names another system's format (GIFT, Moodle XML, QTI)."""
    return READERS.get(PurePath(filename or "").suffix.lower()) in FOREIGN_FORMATS


def file_defaults(*, subject: Subject | None = None, difficulty: int | None = None,
                  node: str | None = None,
                  explanation: str = foreign.EXPLANATION_TO_WRITE) -> foreign.FileDefaults:
    """The defaults a trainer chose for a file from another system, with syllabus nodes
    found by code or title in the version in force (new items are written against it).
    A default node names the subject when none is chosen; ServiceError when the node
    is not in that tree or not in the chosen subject."""
    tree = syllabus.load(authoring.writable_version(syllabi.in_force()))
    nodes = ()
    if node:
        found = tree.node(node)
        if found is None:
            raise ServiceError(gettext("考试大纲中没有知识点 %(code)s。", code=node[:40]))
        if subject is not None and found.subject is not subject:
            raise ServiceError(gettext("所选大纲知识点不属于所选科目。"))
        subject, nodes = found.subject, (found.code,)
    return foreign.FileDefaults(subject=subject, difficulty=difficulty, syllabus=nodes,
                                explanation=explanation.strip(),
                                find_node=foreign.syllabus_finder(tree))


def read_file(filename: str, data: bytes, *, max_items: int | None,
              caps: limits.Limits = limits.WEB,
              defaults: foreign.FileDefaults | None = None,
              encoding: str | None = None) -> list[ItemRecord]:
    """Read items from *data*; the file name's extension picks the format. Another
    system's file is read with *defaults* (None: exactly what it says), a GIFT file in
    *encoding* ("auto" guesses; None takes UTF-8 only).

    Pure work that may take seconds: call it inside extensions.no_write_lock()."""
    reader, options = _reader(filename, defaults, encoding)
    try:
        return reader.read(data, max_items=max_items, caps=caps, **options)
    except UnreadableFile as error:
        raise ServiceError(unreadable_message(error)) from error


def file_records(filename: str, data: bytes, *, caps: limits.Limits = limits.WEB,
                 defaults: foreign.FileDefaults | None = None,
                 encoding: str | None = None) -> Iterator[ItemRecord]:
    """read_file's records one at a time as the file is read, however many there are
    (the command line's import). UnreadableFile when the file cannot be read, which
    may come after records that could."""
    reader, options = _reader(filename, defaults, encoding)
    if hasattr(reader, "records"):
        return reader.records(data, caps=caps, **options)
    return iter(reader.read(data, max_items=None, caps=caps, **options))


def unreadable_message(error: UnreadableFile) -> str:
    return gettext(error.message, **error.params)


def _reader(filename: str, defaults: foreign.FileDefaults | None, encoding: str | None):
    reader = READERS.get(PurePath(filename or "").suffix.lower())
    if reader is None:
        raise ServiceError(gettext("只支持 %(formats)s 文件。", formats="、".join(READERS)))
    options = {}
    if reader in FOREIGN_FORMATS:
        options["defaults"] = defaults
    if reader is gift:
        options["encoding"] = encoding
    return reader, options


def plan_import(records: list[ItemRecord], syllabus_version: str | None = None, *,
                author=None, seen: set[str] | None = None) -> ImportPlan:
    """Decide, per record, whether it creates an item, updates one, changes nothing, or fails.

    Rows are read against *syllabus_version* when given. Otherwise a new item is written
    against the version in force and an update keeps the version its item is written
    against: a file never moves an item to another syllabus unless asked to. A row
    naming a secure item *author* may not change is an error (and says no more). A file
    planned in parts passes the same *seen* set (external ids so far) to each.
    """
    known = _items_by_external_id([r.external_id for r in records if r.external_id])
    for_new = authoring.writable_version(syllabus_version)
    rows, seen = [], set() if seen is None else seen
    for record in records:
        problems = list(record.problems)
        item = known.get(record.external_id) if record.external_id else None
        version = syllabus_version or (item.current_version.syllabus_version
                                       if item is not None else for_new)
        content, defaulted = record.content, record.defaulted
        if item is not None and content is not None and defaulted:
            content, defaulted = _keeping_item_values(item, content, defaulted)
        if content is not None and syllabus.is_loaded(version):
            # from_record validated the item rules already
            problems += syllabus.link_problems(content, syllabus.load(version))
        elif content is not None:
            problems.append(Problem("syllabus", N_("没有 %(version)s 年版考试大纲的数据。"),
                                    {"version": version}))
        if record.external_id:
            if record.external_id in seen:
                problems.append(Problem("external_id", N_("外部编号在文件中重复。")))
            seen.add(record.external_id)
        if item is not None and content is not None and not problems:
            if (item.subject, item.item_type) != (content.subject, content.item_type):
                problems.append(Problem("type", N_("已有同编号的题目，但科目或题型不同。")))
            elif item.status is ItemStatus.RETIRED:
                problems.append(Problem("external_id", N_("同编号的题目已经停用。")))
            elif author is not None and not secure_pool.may_write(item.pool, author):
                problems.append(Problem("external_id", N_("外部编号已被占用，请换一个编号。")))
        if problems:
            rows.append(PlannedRow(record, Action.ERROR, problems, item, version))
        elif item is None:
            rows.append(PlannedRow(record, Action.CREATE, syllabus_version=version,
                                   content=content, defaulted=defaulted))
        elif authoring.is_unchanged(item, content, version):
            rows.append(PlannedRow(record, Action.UNCHANGED, item=item, syllabus_version=version,
                                   content=content))
        else:
            rows.append(PlannedRow(record, Action.UPDATE, item=item, syllabus_version=version,
                                   content=content, defaulted=defaulted))
    return ImportPlan(rows)


def _keeping_item_values(item: Item, content: ItemContent,
                         defaulted: tuple[str, ...]) -> tuple[ItemContent, tuple[str, ...]]:
    """*content* with the item's own subject, difficulty, syllabus links and explanation
    where the file gave only its defaults: an update never replaces what an item says
    with a default. Those fields stay "to complete" only where the item's were too."""
    current = item.current_version.to_domain()
    content = dataclasses.replace(content, **{name: getattr(current, name)
                                              for name in defaulted})
    return content, tuple(name for name in defaulted if name in item.needs_completing)


def _items_by_external_id(external_ids: list[str]) -> dict[str, Item]:
    found = {}
    for start in range(0, len(external_ids), 500):
        chunk = external_ids[start:start + 500]
        for item in db.session.scalars(sa.select(Item).where(Item.external_id.in_(chunk))):
            found[item.external_id] = item
    return found


def apply_import(plan: ImportPlan, author, *, filename: str,
                 pool: ItemPool = ItemPool.OPEN, partial: bool = False) -> dict[str, int]:
    """Create drafts (new items in *pool*) and pending versions for the plan: all of it,
    or nothing when any row fails; with *partial*, every row that can be imported."""
    if plan.errors and not partial:
        raise ServiceError(gettext("文件中有 %(n)d 处错误，未导入任何题目。", n=len(plan.errors)))
    write_rows(plan.rows, author, pool=pool)
    return record_import(plan, author, filename=filename, pool=pool, partial=partial)


def write_rows(rows: list[PlannedRow], author, *, pool: ItemPool = ItemPool.OPEN) -> None:
    """The creations and updates among *rows* (a plan, or one part of a file's plan)."""
    creating: dict[str, list[PlannedRow]] = {}
    for row in rows:
        if row.action is Action.CREATE:
            creating.setdefault(row.syllabus_version, []).append(row)
    for version, created in sorted(creating.items()):
        authoring.create_items([(row.record.external_id, row.content) for row in created],
                               author, version, pool=pool,
                               defaulted=[row.defaulted for row in created])
    for row in rows:
        if row.action is Action.UPDATE:
            authoring.revise_item(row.item, row.content, author,
                                  syllabus_version=row.syllabus_version,
                                  defaulted=row.defaulted)


def record_import(plan: ImportPlan, author, *, filename: str, pool: ItemPool,
                  partial: bool) -> dict[str, int]:
    """Audit the import of *plan* once written; its counts."""
    summary = {action.value: plan.count(action) for action in Action}
    summary["completing"] = plan.completing
    audit.record("item.imported", actor=author, details={
        "file": filename[:200], "pool": pool.value,
        "mode": "partial" if partial else "all", **summary})
    return summary


def rejected(plan: ImportPlan) -> list[ItemRecord]:
    """The records of the rows that cannot be imported, each with every reason (the
    file's and the plan's) and what was read of it, for rejects.write."""
    records = []
    for row in plan.errors:
        record = row.record
        fields = record.fields or (to_record(record.external_id, record.content)
                                   if record.content is not None else {})
        records.append(dataclasses.replace(record, content=None, problems=tuple(row.problems),
                                           fields=fields))
    return records


def rejects_file(plan: ImportPlan) -> bytes | None:
    """The rows that cannot be imported as the XLSX template to fix and import again, or
    None when there is none."""
    if not plan.errors:
        return None
    return rejects.write(rejected(plan), gettext)


def after_import(plan: ImportPlan) -> None:
    """Once the import has committed: its search entries merged into the index, and after
    a large one the planner's statistics refreshed."""
    authoring.merge_search_entries()
    if plan.count(Action.CREATE) >= 10_000:
        refresh_statistics()


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
