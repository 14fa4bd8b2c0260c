"""The notification centre (通知) and the notification settings of every signed-in user;
the unread count for the navigation."""

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.extensions import db
from exam_portal.models.types import utcnow
from exam_portal.services.platform import notifications
from exam_portal.web import outcomes
from exam_portal.web.forms import submitted
from exam_portal.web.pagination import page_argument

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.app_context_processor
def _unread():
    def unread_notices() -> int:
        # Called by base.html for signed-in users only: one count on a partial index.
        return notifications.unread_count(current_user.id)
    return {"unread_notices": unread_notices}


@bp.get("/")
def centre():
    page = db.paginate(notifications.list_query(current_user.id), page=page_argument(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    shown = [(row, notifications.render(row)) for row in page.items]
    return render_template("notifications/centre.html", page=page, shown=shown,
                           form=ConfirmForm(),
                           unread=notifications.unread_count(current_user.id))


@bp.post("/<int:notification_id>/open")
def open_notice(notification_id):
    row = notifications.get_own(current_user.id, notification_id)
    if row is None:
        abort(404)
    if not submitted(ConfirmForm()):
        return redirect(url_for(".centre"))
    outcomes.commit(lambda: notifications.mark_read(current_user.id, row.id, now=utcnow()))
    return redirect(notifications.render(row).url() or url_for(".centre"))


@bp.post("/<int:notification_id>/read")
def mark_read(notification_id):
    if notifications.get_own(current_user.id, notification_id) is None:
        abort(404)
    if submitted(ConfirmForm()):
        outcomes.commit(lambda: notifications.mark_read(current_user.id, notification_id,
                                                        now=utcnow()))
    return redirect(url_for(".centre", page=page_argument()))


@bp.post("/read-all")
def mark_all_read():
    if submitted(ConfirmForm()):
        outcomes.commit(lambda: notifications.mark_all_read(current_user.id, now=utcnow()),
                        _("所有通知已标为已读。"))
    return redirect(url_for(".centre"))


@bp.route("/settings", methods=["GET", "POST"])
def preferences():
    form = ConfirmForm()
    current = notifications.preferences(current_user)
    if request.method == "POST" and submitted(form):
        # A checkbox sends its name only when ticked: every setting shown is decided.
        wanted = {key: f"{key[0]}:{key[1]}" in request.form for key in current}
        outcomes.commit(lambda: notifications.set_preferences(current_user, wanted,
                                                              now=utcnow()),
                        _("通知设置已保存。"))
        return redirect(url_for(".preferences"))
    channels = [(notifications.IN_APP, _("站内通知")), (notifications.EMAIL, _("电子邮件"))]
    channels += [(channel.name, channel.label or channel.name)
                 for channel in notifications.channels()]
    return render_template("notifications/preferences.html", form=form, current=current,
                           kinds=notifications.kinds_for(current_user), channels=channels)
