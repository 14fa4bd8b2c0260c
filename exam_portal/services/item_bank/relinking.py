"""Relinking published items from the 2018 syllabus to the 2025 one, through the
crosswalk's proposal and a trainer's decision on each item.

Nothing is relinked unless a trainer accepts it, one item or a selection at a time.
Accepting publishes a new version of the item: the same wording, the proposed 2025
links, reviewed by the trainer who accepted (never the author of the version it
replaces, as for any review). The version it replaces keeps its 2018 links, so papers
drawn from it still read as they were. A draft or a version under review is relinked
in the editor instead, where the author sees the proposal and can change it.
"""

import dataclasses
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.bank import Item, ItemPool, ItemReview, ItemVersion, ReviewDecision
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.item_bank import authoring, pools
from exam_portal.services.platform import audit
from question_bank import crosswalk, syllabus
from question_bank.crosswalk import Fit
from question_bank.subjects import Subject
from question_bank.workflow import ItemStatus

SOURCE, TARGET = "2018", "2025"
MAX_BULK = 200
REVIEW_COMMENT = "按 2018→2025 年版考试大纲对照表改为 2025 年版关联（培训师逐题确认）。"


@dataclass(frozen=True)
class ProposedLink:
    code: str
    title: str
    target: str
    target_title: str
    fit: Fit


@dataclass(frozen=True)
class Proposal:
    """What accepting would do to one item, or why it cannot be accepted here."""

    item: Item
    version: ItemVersion  # the version the proposal starts from
    links: tuple[ProposedLink, ...]
    problem: str | None = None

    @property
    def new_codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(link.target for link in self.links))

    @property
    def is_exact(self) -> bool:
        """Every link keeps its content (no broader node)."""
        return all(link.fit is not Fit.BROADER for link in self.links)


def pending_query(subject: Subject | None = None):
    """Published open-pool items whose version candidates get is still linked to 2018,
    oldest first, with that version loaded. (Secure items are relinked by their exam
    authors in the editor, with a review: this page is open to every trainer.)"""
    query = (sa.select(Item).join(ItemVersion, Item.current_version_id == ItemVersion.id)
             .where(Item.status == ItemStatus.PUBLISHED, Item.pool == ItemPool.OPEN,
                    Item.published_version_id == Item.current_version_id,
                    ItemVersion.syllabus_version == SOURCE)
             .options(sa.orm.contains_eager(Item.current_version))
             .order_by(Item.id))
    if subject is not None:
        query = query.where(Item.subject == subject)
    return query


def count_pending(subject: Subject | None = None) -> int:
    return db.session.scalar(pending_query(subject).with_only_columns(sa.func.count(Item.id))
                             .order_by(None))


def count_in_progress(subject: Subject | None = None) -> int:
    """Items linked to 2018 whose newest version is a draft or under review: their
    authors relink them in the editor."""
    query = (sa.select(sa.func.count(Item.id))
             .join(ItemVersion, Item.current_version_id == ItemVersion.id)
             .where(Item.status.in_((ItemStatus.DRAFT, ItemStatus.REVIEW)),
                    Item.pool == ItemPool.OPEN, ItemVersion.syllabus_version == SOURCE))
    if subject is not None:
        query = query.where(Item.subject == subject)
    return db.session.scalar(query)


def propose(item: Item) -> Proposal:
    """The crosswalk's proposal for *item*'s newest version."""
    version = item.current_version
    codes = version.to_domain().syllabus
    old, new = syllabus.load(SOURCE), syllabus.load(TARGET)
    try:
        proposal = crosswalk.load(SOURCE, TARGET).propose(codes)
    except crosswalk.NotInCrosswalk as error:
        return Proposal(item, version, (), gettext(
            "大纲节点 %(code)s 不在对照表中，请在编辑页改用 2025 年版大纲。", code=error.code))
    links = tuple(ProposedLink(link.code, _title(old, link.code), link.target,
                               _title(new, link.target), link.fit) for link in proposal)
    return Proposal(item, version, links)


def _title(tree: syllabus.Syllabus, code: str) -> str:
    node = tree.node(code)
    return node.title if node else ""


def proposal_for(item: Item) -> Proposal | None:
    """The proposal shown on an item's page: only for a published 2018 item."""
    version = item.current_version
    if (version is None or version.syllabus_version != SOURCE or item.pool is not ItemPool.OPEN
            or item.status is not ItemStatus.PUBLISHED
            or item.published_version_id != item.current_version_id):
        return None
    return propose(item)


def accept(item: Item, version_id: int, actor) -> ItemVersion:
    """Relink one item as proposed for its version *version_id* (the one the trainer
    saw); ServiceError with the reason when it cannot be."""
    [locked] = authoring.lock_items([item.id])
    version = _relink(locked, version_id, actor)
    pools.bank_changed(locked.subject, [locked.id])
    db.session.flush()
    return version


def accept_many(version_ids: list[int], actor) -> tuple[int, list[tuple[int, str]]]:
    """Relink the items of the versions *version_ids* (as the trainer saw them), locked
    together; return how many, and (item id, reason) for each one left as it was."""
    version_ids = list(dict.fromkeys(version_ids))[:MAX_BULK]
    expected = dict(db.session.execute(
        sa.select(ItemVersion.item_id, ItemVersion.id)
        .where(ItemVersion.id.in_(version_ids))).all())
    accepted, refused, changed = 0, [], {}
    for item in authoring.lock_items(sorted(expected)):
        try:
            _relink(item, expected[item.id], actor)
        except ServiceError as error:
            refused.append((item.id, str(error)))
        else:
            accepted += 1
            changed.setdefault(item.subject, []).append(item.id)
    for subject in sorted(changed, key=lambda subject: subject.value):
        pools.bank_changed(subject, changed[subject])
    db.session.flush()
    return accepted, refused


def _relink(item: Item, version_id: int, actor) -> ItemVersion:
    if item.pool is not ItemPool.OPEN:
        raise ServiceError(gettext("没有这道题目。"))
    current = item.current_version
    if current.id != version_id:
        raise ServiceError(gettext("题目 %(id)d 已有新的版本，请重新查看建议。", id=item.id))
    if current.syllabus_version != SOURCE:
        raise ServiceError(gettext("题目 %(id)d 已按 %(version)s 年版大纲关联。",
                                   id=item.id, version=current.syllabus_version))
    if item.status is not ItemStatus.PUBLISHED or item.published_version_id != current.id:
        raise ServiceError(gettext(
            "题目 %(id)d 正在修改、审核中或已停用：请在编辑页改用 2025 年版大纲。", id=item.id))
    if current.author_id == actor.id:
        raise ServiceError(gettext(
            "题目 %(id)d 的当前版本由你编写，改关联需要由另一位培训师确认。", id=item.id))
    proposal = propose(item)
    if proposal.problem:
        raise ServiceError(proposal.problem)
    content = dataclasses.replace(current.to_domain(), syllabus=proposal.new_codes)
    problems = authoring.content_problems(content, TARGET)
    if problems:
        raise authoring.InvalidItem(problems)
    now = utcnow()
    version = ItemVersion(item=item, number=current.number + 1, status=ItemStatus.PUBLISHED,
                          author_id=current.author_id, syllabus_version=TARGET,
                          submitted_at=now)
    version.set_content(content, syllabus.load(TARGET).chapter_of)
    version.reviews.append(ItemReview(reviewer_id=actor.id, decision=ReviewDecision.APPROVED,
                                      comment=REVIEW_COMMENT))
    db.session.add(version)
    current.status = ItemStatus.SUPERSEDED
    item.current_version = version
    item.published_version = version
    audit.record("item.relinked", target=item, actor=actor, details={
        "from": {"version": current.number, "syllabus": SOURCE},
        "to": {"version": version.number, "syllabus": TARGET},
        "links": [[link.code, link.target, link.fit.value] for link in proposal.links],
    })
    return version
