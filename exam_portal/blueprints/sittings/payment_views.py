"""A session's exam fees for administrators: the fee per subject and the payment
deadline, the registrations by payment state, payments imported from a provider's
statement (upload, preview, confirm: the shape of the score import) or entered by hand
on one registration."""

import sqlalchemy as sa
from flask import Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from exam_portal.blueprints.sittings.forms import (
    ConfirmUploadForm,
    FeeSettingsForm,
    ManualPaymentForm,
    UploadForm,
)
from exam_portal.blueprints.sittings.views import bp, page_context, session_or_404
from exam_portal.extensions import db, no_write_lock
from exam_portal.models.sittings import ExamSession, Registration
from exam_portal.models.types import utcnow
from exam_portal.services.exam_sessions import fees, payment_import, payments
from exam_portal.services.platform.clock import from_local, to_local
from exam_portal.web import outcomes, uploads
from exam_portal.web.forms import submitted
from exam_portal.web.pagination import Page, page_argument

PAYMENT_STATE_LABELS = {
    fees.PaymentState.AWAITING_PAYMENT: _l("待缴费"),
    fees.PaymentState.COMPLETE: _l("已缴清"),
    fees.PaymentState.LAPSED: _l("逾期未缴，已失效"),
    fees.PaymentState.UNDER_REVIEW: _l("待审核"),
    fees.PaymentState.REJECTED: _l("已退回"),
}
# The list's filters: the states, and the registrations holding money to give back.
FILTERS = {**{state.value: label for state, label in PAYMENT_STATE_LABELS.items()},
           fees.REFUND: _l("待退款")}


def fee_context() -> dict:
    return {"payment_state_labels": PAYMENT_STATE_LABELS, "payment_states": fees.PaymentState}


def _to_payments(session: ExamSession):
    return redirect(url_for("sittings.session_payments", session_id=session.id))


@bp.get("/admin/sessions/<int:session_id>/payments")
def session_payments(session_id):
    session = session_or_404(session_id)
    now = utcnow()
    show = request.args.get("show", "")
    show = show if show in FILTERS else ""
    search = request.args.get("q", "").strip()[:40]
    query = fees.list_query(session, show=show, now=now, search=search)
    per_page = current_app.config["PAGE_SIZE"]
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    number = min(page_argument(), max(1, -(-total // per_page)))
    rows = [(registration, fees.account_from(session, registration, counted, paid, now))
            for registration, counted, paid in db.session.execute(
                query.limit(per_page).offset((number - 1) * per_page))]
    form = FeeSettingsForm(data={"fee": session.fee_per_subject_fen / 100,
                                 "payment_deadline": to_local(session.payment_deadline)})
    return render_template(
        "sittings/session_payments.html", session=session, form=form, show=show,
        search=search, filters=FILTERS, counts=fees.state_counts(session, now=now),
        page=Page(rows, number, per_page, total), now=now, **fee_context(),
        **page_context())


@bp.post("/admin/sessions/<int:session_id>/payments/settings")
def set_fees(session_id):
    session = session_or_404(session_id)
    form = FeeSettingsForm()
    if submitted(form):
        outcomes.commit(
            lambda: payments.set_fees(session, fee_fen=int(form.fee.data * 100),
                                      deadline=from_local(form.payment_deadline.data),
                                      actor=current_user, now=utcnow()),
            _("缴费设置已保存。"))
    return _to_payments(session)


@bp.route("/admin/sessions/<int:session_id>/payments/import", methods=["GET", "POST"])
def import_payments(session_id):
    # A preview writes nothing: the statement is received, read and checked with no
    # write lock held, so candidates' saves never wait for it.
    with no_write_lock():
        session = session_or_404(session_id)
        return uploads.preview(
            UploadForm(),
            lambda name, data: payment_import.plan(
                session, payment_import.read_sheet(name, data), now=utcnow()),
            confirm=ConfirmUploadForm(),
            ready=lambda plan: plan.changes,
            upload_page="sittings/import_payments.html",
            preview_page="sittings/import_payments_preview.html",
            session=session, actions=payment_import.Action, **fee_context(),
            **page_context())


@bp.post("/admin/sessions/<int:session_id>/payments/import/confirm")
def confirm_payment_import(session_id):
    session = session_or_404(session_id)
    form = ConfirmUploadForm()
    upload = uploads.confirmed(form)
    if upload is None:
        return redirect(url_for("sittings.import_payments", session_id=session.id))
    done = outcomes.commit(
        lambda: _import_statement(session, *upload),
        lambda summary: _("导入完成：新增缴费 %(new)d 笔，逾期缴费 %(late)d 笔（待退款），"
                          "已记录 %(unchanged)d 笔。", **summary),
        # The unique reference refused a payment recorded at the same moment.
        conflict=_("同时有另一次操作记录了同一笔缴费，本次未导入任何缴费。请重新上传预览。"))
    if not done.ok:
        return redirect(url_for("sittings.import_payments", session_id=session.id))
    return _to_payments(session)


def _import_statement(session: ExamSession, filename: str, data: bytes) -> dict:
    # Read with no write lock held; judged afresh and written under the session's lock.
    with no_write_lock():
        sheet = payment_import.read_sheet(filename, data)
    return payment_import.record(session, sheet, current_user, filename=filename,
                                 now=utcnow())


@bp.get("/admin/sessions/<int:session_id>/payments/template.csv")
def payment_template(session_id):
    session_or_404(session_id)
    return Response(payment_import.template(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="payments.csv"'})


def _registration_or_404(session: ExamSession, registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.session_id != session.id:
        abort(404)
    return registration


@bp.get("/admin/sessions/<int:session_id>/registrations/<int:registration_id>/payments")
def registration_payments(session_id, registration_id):
    session = session_or_404(session_id)
    registration = _registration_or_404(session, registration_id)
    return _registration_page(registration, ManualPaymentForm())


def _registration_page(registration: Registration, form: ManualPaymentForm):
    now = utcnow()
    account = fees.account(registration, now)
    return render_template(
        "sittings/registration_payments.html", session=registration.session,
        registration=registration, account=account, form=form,
        missing=fees.missing_text(account, registration.session),
        payments=payments.payments_of(registration), is_on_time=fees.counts,
        **fee_context(), **page_context())


@bp.post("/admin/sessions/<int:session_id>/registrations/<int:registration_id>/payments")
def record_payment(session_id, registration_id):
    session = session_or_404(session_id)
    registration = _registration_or_404(session, registration_id)
    form = ManualPaymentForm()
    if not form.validate_on_submit():
        return _registration_page(registration, form), 422
    done = outcomes.commit(
        lambda: payments.record_payment(
            registration, amount_fen=int(form.amount.data * 100),
            reference=form.reference.data, paid_at=from_local(form.paid_at.data),
            note=form.note.data, actor=current_user, now=utcnow()),
        lambda recorded: _("缴费已记录。") if not recorded[1] else _(
            "缴费已记录，但缴费时间晚于缴费期限：不计入考试费，请安排退款。"),
        conflict=_("同时有另一次操作记录了这个交易流水号，本次未记录。"))
    if not done.ok:
        return _registration_page(registration, form), 422
    return redirect(url_for("sittings.registration_payments", session_id=session.id,
                            registration_id=registration.id))
