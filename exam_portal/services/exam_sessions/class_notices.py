"""The notices of classes: an assignment was set, and an assignment is due tomorrow
(its sweep source is classes.py's). Registered at import of this module."""

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from exam_portal.models.classes import ClassAssignment, TrainingClass
from exam_portal.services.platform import notifications
from exam_portal.services.platform.clock import datetime_text

SET = "assignment_set"
DUE_TOMORROW = "assignment_due_tomorrow"


def _params(assignment: ClassAssignment, class_name: str) -> dict:
    return {"assignment_id": assignment.id, "title": assignment.title,
            "class_name": class_name, "due_at": assignment.due_at.isoformat()}


def _due_text(params: dict) -> str:
    return datetime_text(datetime.fromisoformat(params["due_at"]))


@notifications.kind(SET, opt_in=False, label=_l("班级布置了新作业"))
def _assignment_set(params: dict) -> notifications.Notice:
    return notifications.Notice(
        title=_("新作业：%(title)s", title=params["title"]),
        body=_("“%(class_name)s”布置了作业“%(title)s”，截止时间 %(due)s（北京时间）。",
               class_name=params["class_name"], title=params["title"],
               due=_due_text(params)),
        link=("classes.my_assignments", {}))


@notifications.kind(DUE_TOMORROW, opt_in=False, label=_l("作业明天截止而我还没交卷"))
def _assignment_due(params: dict) -> notifications.Notice:
    return notifications.Notice(
        title=_("作业即将截止：%(title)s", title=params["title"]),
        body=_("“%(class_name)s”的作业“%(title)s”将于 %(due)s（北京时间）截止，你还没有交卷。",
               class_name=params["class_name"], title=params["title"],
               due=_due_text(params)),
        link=("classes.my_assignments", {}))


def assignment_set(assignment: ClassAssignment, klass: TrainingClass,
                   candidate_ids: list[int]) -> int:
    if not candidate_ids:
        return 0
    return notifications.notify(candidate_ids, SET, _params(assignment, klass.name),
                                event=f"assignment:{assignment.id}")


def due_tomorrow(assignment: ClassAssignment, candidate_ids: list[int]) -> int:
    return notifications.notify(candidate_ids, DUE_TOMORROW,
                                _params(assignment, assignment.training_class.name),
                                event=f"assignment_due:{assignment.id}")
