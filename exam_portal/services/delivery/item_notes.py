"""A candidate's notes on items (笔记), and their error reports (纠错) as delivery sees
them: both only on an item the candidate was shown in practice.

"Shown in practice" means the item was drawn into one of the candidate's own practice
sets or mock papers. An exam paper never counts (as with bookmarks), so nothing is
written about an exam item during the exam, and an item id the candidate never met
answers as if it did not exist. A report is filed against the version on the
candidate's page: the one of the attempt they reviewed, or the published one their
wrong-answer book or bookmarks show.
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.attempts import Attempt, AttemptItem
from exam_portal.models.bank import Item, ItemVersion
from exam_portal.models.notes import ErrorReport, ItemNote
from exam_portal.models.types import dialect_insert
from exam_portal.services import ServiceError
from exam_portal.services.item_bank import error_reports
from question_bank import item_feedback
from question_bank.practice import Mode


class ItemNotShown(LookupError):
    """The candidate was never shown the item in practice (the page answers 404)."""


def shown_version(candidate_id: int, item_id: int, asked: int | None = None) -> ItemVersion:
    """The version of *item_id* the candidate is looking at: *asked* if they were shown
    it in practice or it is the item's published version, else the one they were
    shown last.

    :raises ItemNotShown: the candidate never met the item in practice.
    """
    seen = list(db.session.scalars(
        sa.select(AttemptItem.item_version_id)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(Attempt.candidate_id == candidate_id, Attempt.mode != Mode.EXAM,
               AttemptItem.item_id == item_id)
        .order_by(Attempt.started_at.desc(), Attempt.id.desc())))
    if not seen:
        raise ItemNotShown(item_id)
    item = db.session.get(Item, item_id)
    chosen = asked if asked in seen or (asked and asked == item.published_version_id) \
        else seen[0]
    return db.session.get(ItemVersion, chosen)


def save_note(candidate_id: int, item_id: int, text: str | None, *, now: datetime) -> bool:
    """Keep the candidate's note on the item, or delete it when *text* is blank.
    Whether a note is kept now.

    :raises ItemNotShown: the candidate never met the item in practice.
    :raises ServiceError: the note is too long.
    """
    shown_version(candidate_id, item_id)
    cleaned = item_feedback.clean_text(text)
    problem = item_feedback.note_problem(cleaned)
    if problem:
        raise ServiceError(problem.render(gettext))
    if not cleaned:
        db.session.execute(sa.delete(ItemNote).where(
            ItemNote.candidate_id == candidate_id, ItemNote.item_id == item_id))
        return False
    # One statement: two saves of a new note at once leave the later text, not an error.
    insert = dialect_insert(ItemNote.__table__, db.session.get_bind().dialect.name)
    db.session.execute(insert.values(
        candidate_id=candidate_id, item_id=item_id, text=cleaned, created_at=now,
        updated_at=now).on_conflict_do_update(
            index_elements=["candidate_id", "item_id"],
            set_={"text": cleaned, "updated_at": now}))
    return True


def notes_for(candidate_id: int, item_ids) -> dict[int, str]:
    """The candidate's own notes on *item_ids*, by item."""
    ids = set(item_ids)
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(ItemNote.item_id, ItemNote.text).where(
        ItemNote.candidate_id == candidate_id, ItemNote.item_id.in_(ids))).all())


@dataclass(frozen=True)
class Annotations:
    """What a page listing items shows beside each: the candidate's note, and whether a
    report of theirs on it is open."""

    notes: dict[int, str]
    reported: set[int]


def annotations(candidate_id: int, item_ids) -> Annotations:
    ids = set(item_ids)
    return Annotations(notes_for(candidate_id, ids),
                       error_reports.open_item_ids(candidate_id, ids) if ids else set())


def report_error(candidate_id: int, item_id: int, asked_version: int | None,
                 kind: str | None, text: str | None, *, now: datetime) -> ErrorReport:
    """File the candidate's report of an error in the item, against the version on
    their page.

    :raises ItemNotShown: the candidate never met the item in practice.
    :raises ServiceError: see error_reports.file_report.
    """
    version = shown_version(candidate_id, item_id, asked_version)
    return error_reports.file_report(candidate_id, version, kind, text, now=now)


def export_for(candidate_id: int) -> dict:
    """The candidate's notes and error reports, for their data export."""
    notes = db.session.execute(
        sa.select(ItemNote, ItemVersion.content)
        .join(Item, Item.id == ItemNote.item_id)
        .outerjoin(ItemVersion, ItemVersion.id == sa.func.coalesce(
            Item.published_version_id, Item.current_version_id))
        .where(ItemNote.candidate_id == candidate_id)
        .order_by(ItemNote.updated_at.desc(), ItemNote.item_id))
    return {
        "item_notes": [
            {"item_id": note.item_id,
             "item_stem": error_reports.excerpt((content or {}).get("stem", "")),
             "text": note.text, "created_at": note.created_at.isoformat(),
             "updated_at": note.updated_at.isoformat()}
            for note, content in notes],
        "error_reports": error_reports.export_for(candidate_id),
    }
