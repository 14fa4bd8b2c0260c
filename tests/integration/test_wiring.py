"""The hooks between contexts: connected by the app factory, once however many apps."""

from exam_portal import create_app
from exam_portal.services.certification import online_courses
from exam_portal.services.delivery import hand_in
from exam_portal.services.exam_sessions import contests, exam_marking


def test_every_app_connects_the_hand_in_hooks_once(app):
    create_app({"TESTING": True, "SECRET_KEY": "another app in the same process",
                "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    assert list(hand_in._after_marking.values()) == [exam_marking.record_paper_score,
                                                     contests.record_contest_score,
                                                     online_courses.after_hand_in]
