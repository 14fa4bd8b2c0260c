"""Statistics of open-pool items from candidates' first answers in mock papers.

Mock papers are drawn per candidate, so no two need share a form: each choice item is
read against the rest of each paper it was answered in
(question_bank.item_analysis.analyse_across_papers). Only a candidate's first handed-in
answer to an item version counts: a second paper with the same item measures memory.
The figures are stored as item statistics without a form, one row per item version,
replaced whenever they are computed again; flags need MIN_ANSWERS answers.
"""

from datetime import datetime

import numpy as np
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.attempts import Attempt, AttemptItem, AttemptStatus, Response
from exam_portal.models.bank import Item, ItemPool, ItemVersion
from exam_portal.models.statistics import ItemStatistics
from exam_portal.models.types import utcnow
from exam_portal.services.delivery import responses
from exam_portal.services.platform import bulk
from question_bank import item_analysis
from question_bank.items import ItemType
from question_bank.practice import Mode

MIN_ANSWERS = 30
_CHOICE_TYPES = (ItemType.SINGLE, ItemType.MULTI)


def compute(now: datetime | None = None) -> dict:
    """Compute the open pool's item statistics afresh; a summary of what was stored."""
    now = now or utcnow()
    answers = _first_answers()
    db.session.execute(sa.delete(ItemStatistics).where(ItemStatistics.form_id.is_(None)))
    rows, flagged = [], 0
    for version, count, stats in analyse(answers):
        flags = stats.flags if count >= MIN_ANSWERS else ()
        flagged += bool(flags)
        rows.append(ItemStatistics(
            form_id=None, item_id=version.item_id, item_version_id=version.id,
            candidates=count, computed_at=now, **ItemStatistics.figures(stats, flags)))
    db.session.add_all(rows)
    db.session.flush()
    return {"versions": len(rows), "answers": int(len(answers)), "flagged": flagged}


def among(attempt_ids) -> list[tuple[ItemVersion, int, item_analysis.ItemStats]]:
    """The same figures, computed and not stored, over the first answers in the mock
    papers *attempt_ids* (a select of attempt ids: a class's papers, say)."""
    return analyse(_first_answers(Attempt.id.in_(attempt_ids)))


def analyse(answers: np.ndarray) -> list[tuple[ItemVersion, int, item_analysis.ItemStats]]:
    """Each item version's figures from its first answers (rows as `_first_answers`
    gives them): the version, how many answered it, and its statistics."""
    if not len(answers):
        return []
    version_ids, starts = np.unique(answers[:, 0], return_index=True)
    versions = {version.id: version for version in db.session.scalars(
        sa.select(ItemVersion).where(ItemVersion.id.in_(version_ids.tolist())))}
    result = []
    for version_id, part in zip(version_ids.tolist(), np.split(answers, starts[1:]),
                                strict=True):
        version = versions[version_id]
        content = version.to_domain()
        item = item_analysis.FormItem(content.item_type, int(part[0, 4]),
                                      item_analysis.mask_of(content.keys),
                                      len(content.options))
        scores = np.minimum(part[:, 3], item.max_halves)
        shares = (part[:, 5] - part[:, 3]) / (part[:, 6] - part[:, 4])
        result.append((version, len(part), item_analysis.analyse_across_papers(
            item, scores, part[:, 2].astype(np.uint8), np.clip(shares, 0, 1))))
    return result


def _first_answers(*conditions) -> np.ndarray:
    """Each candidate's first handed-in answer to each open-pool choice item version in
    a mock paper (of those meeting *conditions*), as rows (version id, item id, options
    chosen as a bitmask, half-points earned, the item's points, the paper's score, the
    paper's maximum), by version."""
    ranked = (
        sa.select(AttemptItem.item_version_id.label("version_id"),
                  AttemptItem.item_id.label("item_id"),
                  responses.selected_mask().label("mask"),
                  sa.func.coalesce(Response.score_halves, 0).label("earned"),
                  AttemptItem.points_halves.label("points"),
                  Attempt.score_halves.label("paper"), Attempt.full_halves.label("full"),
                  sa.func.row_number().over(
                      partition_by=(AttemptItem.item_version_id, Attempt.candidate_id),
                      order_by=(Attempt.submitted_at, Attempt.id)).label("nth"))
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .join(Item, Item.id == AttemptItem.item_id)
        .outerjoin(Response, (Response.attempt_id == AttemptItem.attempt_id)
                   & (Response.position == AttemptItem.position))
        .where(Attempt.mode == Mode.MOCK, Attempt.status == AttemptStatus.SUBMITTED,
               Attempt.score_halves.is_not(None), Item.pool == ItemPool.OPEN,
               Item.item_type.in_(_CHOICE_TYPES),
               Attempt.full_halves > AttemptItem.points_halves, *conditions)
        .subquery())
    columns = [ranked.c.version_id, ranked.c.item_id, ranked.c.mask, ranked.c.earned,
               ranked.c.points, ranked.c.paper, ranked.c.full]
    blocks = list(bulk.int_rows(sa.select(*columns).where(ranked.c.nth == 1)
                                .order_by(ranked.c.version_id)))
    return np.concatenate(blocks) if blocks else np.empty((0, 7), dtype=np.int64)
