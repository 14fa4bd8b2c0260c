"""Reviewing registrations (资格审核): verify or reject them, in bulk or one at a time
on its review page, with a reason.

Above results, because a decision changes a qualification already computed ("pending
verification" lifted, or withdrawn)."""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.sittings import Registration, RegistrationStatus, VerificationMode
from exam_portal.services import ServiceError
from exam_portal.services.exam_sessions import evidence, notices, results, sittings
from exam_portal.services.platform import audit


def review(registrations: list[Registration], *, verify: bool, reason: str,
           actor: User, now: datetime) -> tuple[int, list[tuple[Registration, str]]]:
    """Verify or reject registrations; return how many changed and the refused ones."""
    reason = reason.strip()
    if not verify and not reason:
        raise ServiceError(gettext("退回报名须填写原因。"))
    if len(registrations) > sittings.MAX_BULK_REVIEW:
        raise ServiceError(gettext("一次最多审核 %(n)d 条报名。", n=sittings.MAX_BULK_REVIEW))
    target = RegistrationStatus.VERIFIED if verify else RegistrationStatus.REJECTED
    changed, refused = [], []
    # The declarations as this request read them; the decision is for those. Each is
    # locked and read again: one withdrawn or declared anew meanwhile is left for a
    # fresh look rather than decided on what it no longer says.
    seen = {r.id: (r.status, r.declared_at) for r in registrations}
    current = {row.id: (row.status, row.declared_at) for row in db.session.scalars(
        sa.select(Registration).where(Registration.id.in_(seen)).order_by(Registration.id)
        .with_for_update().execution_options(populate_existing=True))}
    published = {session_id: sittings.hold_results(session_id)
                 for session_id in sorted({r.session_id for r in registrations})}
    for registration in registrations:
        if registration.id not in current:
            refused.append((registration, gettext("考生已撤销这条报名。")))
            continue
        if current[registration.id] != seen[registration.id]:
            refused.append((registration, gettext("考生刚刚修改了这条报名，请重新查看后再审核。")))
            continue
        if registration.status is target:
            refused.append((registration, gettext("已经是这个状态。")))
            continue
        if published[registration.session_id] and (
                registration.status is not RegistrationStatus.DECLARED
                or registration.session.verification_mode is VerificationMode.BEFORE_EXAM):
            # Only an after-exam session's pending registrations are still open to review.
            refused.append((registration, gettext("成绩已发布，不能再改审核结果。")))
            continue
        registration.status, registration.reviewed_by_id = target, actor.id
        registration.reviewed_at, registration.review_note = now, reason[:500] or None
        changed.append(registration)
    if changed:
        audit.record("registration.verified" if verify else "registration.rejected",
                     actor=actor, details={"registrations": [r.id for r in changed],
                                           "reason": reason[:500]})
    db.session.flush()
    results.after_review(changed)
    notices.registrations_decided(changed, verify=verify, reason=reason, now=now)
    return len(changed), refused


def decide(registration: Registration, *, verify: bool, reason: str, evidence_seen: str,
           actor: User, now: datetime) -> tuple[int, list[tuple[Registration, str]]]:
    """Verify or reject one registration from its review page, as `review` does, unless
    its documents changed since the page showed them (*evidence_seen*, its fingerprint):
    the row is locked first, so no upload or deletion lands between this check and the
    decision."""
    still_there = db.session.scalar(sa.select(Registration.id).where(
        Registration.id == registration.id).with_for_update())
    if still_there is not None and evidence.fingerprint(registration.id) != evidence_seen:
        return 0, [(registration, gettext("考生刚刚修改了报名材料，请重新查看后再审核。"))]
    return review([registration], verify=verify, reason=reason, actor=actor, now=now)
