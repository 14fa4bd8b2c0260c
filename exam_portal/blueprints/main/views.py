"""Home page, language switch and health check."""

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from exam_portal.extensions import db
from exam_portal.services.accounts import accounts
from exam_portal.web import outcomes
from exam_portal.web.security import safe_next
from question_bank import regions

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    return render_template("main/index.html")


@bp.post("/language")
def set_language():
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            outcomes.commit(lambda: accounts.set_locale(current_user, locale))
    return redirect(safe_next(request.form.get("next"), url_for("main.index")))


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return jsonify(app="ok", database="unavailable"), 503
    return jsonify(app="ok", database="ok")


# Administrative areas (GB/T 2260) for the area picker -------------------------------

@bp.get("/areas/<code>/children.json")
def area_children(code):
    """The areas directly inside one (all provinces for "000000"), for the picker."""
    found = regions.provinces() if code == "000000" else regions.children(code)
    response = jsonify([{"code": area.code, "name": area.name} for area in found])
    response.cache_control.public, response.cache_control.max_age = True, 86400
    return response


@bp.get("/areas")
def areas():
    """Look an area's code up by name or code (the picker's fallback without scripts)."""
    query = request.args.get("q", "").strip()[:40]
    found = regions.search(query, limit=AREA_RESULTS) if query else []
    return render_template("main/areas.html", query=query, found=found,
                           full_name=regions.full_name, limit=AREA_RESULTS)


AREA_RESULTS = 50
