"""The signed-in user's own account: profile, eligibility, password, data export."""

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user

from exam_portal.blueprints.account.forms import (
    ChangePasswordForm,
    ConfirmForm,
    EmploymentPeriodForm,
    HeldCertificateForm,
    PhotoForm,
    ProfileForm,
)
from exam_portal.extensions import no_write_lock
from exam_portal.models.accounts import EmploymentPeriod, HeldCertificate
from exam_portal.models.types import utcnow
from exam_portal.services.accounts import accounts, photos, profiles
from exam_portal.services.delivery import item_notes
from exam_portal.services.platform.clock import date_text as show_date
from exam_portal.services.platform.clock import today_local
from exam_portal.web import outcomes, security
from question_bank.documents import photo_rules
from question_bank.levels import CertificateMethod, Education, Level

bp = Blueprint("account", __name__, url_prefix="/account")


def _locale() -> str:
    return str(get_locale())


@bp.get("/")
def overview():
    return render_template("account/overview.html", profile=current_user.profile)


def _profile_form() -> ProfileForm:
    profile = current_user.profile
    form = ProfileForm(obj=profile)
    form.region.set_provinces(_locale(), blank=_("请选择"))
    if profile is not None and not form.is_submitted():
        form.education.data = profile.education.value if profile.education else None
        form.resident_id.data = ""
    return form


def _certificate_form() -> HeldCertificateForm:
    form = HeldCertificateForm(prefix="certificate")
    form.region_limit.set_provinces(_locale(), blank=_("不限地区"))
    return form


def _render_profile(form=None, period_form=None, certificate_form=None, photo_form=None):
    return render_template(
        "account/edit_profile.html",
        form=form or _profile_form(),
        period_form=period_form or EmploymentPeriodForm(prefix="period"),
        certificate_form=certificate_form or _certificate_form(),
        photo_form=photo_form or PhotoForm(prefix="photo"),
        photo_rules=photo_rules(),
        delete_form=ConfirmForm(),
        profile=current_user.profile,
        periods=current_user.employment_periods,
        certificates=current_user.held_certificates,
        awarded=profiles.awarded(current_user),
    )


@bp.route("/profile", methods=["GET", "POST"])
def edit_profile():
    form = _profile_form()
    if form.validate_on_submit():
        changes = profiles.ProfileChanges(
            real_name=form.real_name.data.strip(),
            resident_id=(form.resident_id.data or "").strip() or None,
            id_consent=form.id_consent.data,
            education=Education(form.education.data),
            major=form.major.data.strip(),
            is_social_work_major=form.is_social_work_major.data,
            graduation_date=form.graduation_date.data,
            is_full_time=form.is_full_time.data,
            region=form.region.data,
        )
        if outcomes.commit(lambda: profiles.save_profile(current_user, changes,
                                                         today=today_local()),
                           _("个人资料已保存。"), field=form.resident_id).ok:
            return redirect(url_for("account.edit_profile"))
    return _render_profile(form=form)


@bp.post("/photo")
def upload_photo():
    """Replace the ID photo: checked and stored with no write lock held, then named on the
    profile in one short transaction (the old file goes once that commits)."""
    form = PhotoForm(prefix="photo")
    with no_write_lock():
        if not form.validate_on_submit():
            return _render_profile(photo_form=form), 422
        data = form.photo.data.read()
        problems = photos.check(data)
        if problems:
            form.photo.errors = [*form.photo.errors, *problems]
            return _render_profile(photo_form=form), 422
        key = photos.store(data)
    if outcomes.commit(lambda: photos.replace(current_user, key, now=utcnow()),
                       _("证件照已上传。"), field=form.photo).ok:
        return redirect(url_for("account.edit_profile") + "#photo")
    return _render_profile(photo_form=form), 422


@bp.post("/employment-periods")
def add_employment_period():
    form = EmploymentPeriodForm(prefix="period")
    return _add_own(
        form,
        lambda: profiles.add_employment_period(
            current_user, employer=form.employer.data.strip(), start_on=form.start_on.data,
            end_on=form.end_on.data, is_social_work=form.is_social_work.data == "y",
            today=today_local()),
        _("工作经历已添加。"), field=form.start_on, anchor="#employment", period_form=form,
        then=_warn_if_repeated)


def _warn_if_repeated(period: EmploymentPeriod) -> None:
    repeated = profiles.repeated_period(current_user, period, today=today_local())
    if repeated is not None:
        flash(_("这段经历与已填写的“%(employer)s”（%(start)s — %(end)s）重合或包含在其中，"
                "请核对是否重复填写。", employer=repeated.employer,
                start=show_date(repeated.start_on),
                end=show_date(repeated.end_on) if repeated.end_on else _("至今")), "warning")


@bp.post("/employment-periods/<int:period_id>/delete")
def delete_employment_period(period_id):
    return _delete_own(EmploymentPeriod, period_id, _("工作经历已删除。"), "#employment")


@bp.post("/held-certificates")
def add_held_certificate():
    form = _certificate_form()
    return _add_own(
        form,
        lambda: profiles.add_held_certificate(
            current_user, level=Level(form.level.data), obtained_on=form.obtained_on.data,
            method=CertificateMethod(form.method.data),
            region_limit=form.region_limit.data or None,
            certificate_number=(form.certificate_number.data or "").strip() or None,
            today=today_local()),
        _("证书已添加。"), field=form.obtained_on, anchor="#certificates", certificate_form=form)


@bp.post("/held-certificates/<int:certificate_id>/delete")
def delete_held_certificate(certificate_id):
    return _delete_own(HeldCertificate, certificate_id, _("证书已删除。"), "#certificates")


def _add_own(form, add, message: str, *, field, anchor: str, then=None, **forms):
    """Add a record to the profile page from its own *form*, or show the page again
    with the refusal under *field* (*forms* says which of the page's forms it is);
    *then* is given the added record once it is committed."""
    if form.validate_on_submit() and (done := outcomes.commit(add, message, field=field)).ok:
        if then is not None:
            then(done.result)
        return redirect(url_for("account.edit_profile") + anchor)
    return _render_profile(**forms), 422


def _delete_own(model, record_id: int, message: str, anchor: str):
    record = profiles.own_record_or_none(model, current_user, record_id)
    if record is None:
        abort(404)  # another candidate's row looks exactly like a missing one
    if ConfirmForm().validate_on_submit():
        outcomes.commit(lambda: profiles.delete_own_record(current_user, record), message)
    return redirect(url_for("account.edit_profile") + anchor)


@bp.get("/eligibility")
def eligibility():
    today = today_local()
    return render_template(
        "account/eligibility.html",
        verdicts=profiles.verdicts(current_user, today=today),
        cutoff=profiles.eligibility_cutoff(today),
        profile=current_user.profile,
        has_periods=bool(current_user.employment_periods),
    )


@bp.route("/password", methods=["GET", "POST"])
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit() and outcomes.commit(
            lambda: accounts.change_password(current_user, form.current_password.data,
                                             form.password.data),
            _("密码已修改。其他设备上的登录已退出。"), field=form.password).ok:
        # The token rotated: re-issue this browser's cookie, end all others.
        login_user(current_user)
        security.mark_authenticated()
        return redirect(url_for("account.overview"))
    return render_template("account/change_password.html", form=form)


@bp.post("/export")
@security.require_recent_auth  # it holds the full resident ID, as the admin's reveal
def export_my_data():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    # The account's own records, then what the candidate wrote about items (notes and
    # error reports live in the contexts above accounts).
    data = outcomes.commit(lambda: profiles.export_data(current_user)
                           | item_notes.export_for(current_user.id)).result
    body = json.dumps(data, ensure_ascii=False, indent=2)
    filename = f"my-data-{today_local().isoformat()}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
