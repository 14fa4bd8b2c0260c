"""Locked exam forms for the tests of sittings: a subject's plan (the default cells, any
facility), built from the secure pool and locked by an administrator."""

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.forms import ExamForm
from exam_portal.models.sittings import ExamSession
from exam_portal.models.types import utcnow
from exam_portal.services.exam_sessions import forms


def lock_forms(app, session_id: int, admin_id: int, subjects=None, *, form_count: int = 1,
               max_overlap: int = 0) -> dict:
    """Build and lock the form(s) of each of *subjects* (default: every subject of the
    session that has secure items); return subject → [form ids]."""
    locked = {}
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        admin = db.session.get(User, admin_id)
        for subject in subjects or forms.subjects_of_session(session):
            items = forms.secure_pool_items(session, subject)
            if not items and subjects is None:
                continue
            cells = forms.default_cells(session, subject, forms.pool_counts(items))
            forms.save_plan(session, subject, forms.PlanFields(
                cells, 0.0, 1.0, rest_sessions=0, form_count=form_count,
                max_overlap=max_overlap), admin)
            built = forms.store(session, forms.compose(session, subject, seed=1), admin,
                                now=utcnow())
            for form in built:
                forms.lock(form, admin, reviewed_hash=forms.hash_of(form), now=utcnow())
            db.session.commit()
            locked[subject] = [form.id for form in built]
    return locked


def settle_key_review(session, actor, now) -> None:
    """In the caller's app context: analyse the session's forms and keep every flagged
    item's key, as a review that found nothing wrong would."""
    from exam_portal.services.exam_sessions import form_analysis
    from question_bank.key_review import DecisionKind

    for form in forms.locked_forms_of(session):
        form_analysis.analyse(form, actor, now=now)
    for form_id, item_id in form_analysis.undecided(session):
        form_analysis.decide(db.session.get(ExamForm, form_id), item_id, DecisionKind.KEEP,
                             reason="复核后维持原答案", actor=actor, now=now)
