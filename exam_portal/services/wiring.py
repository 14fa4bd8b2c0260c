"""Where an event of a lower context reaches a higher one.

Contexts import only the ones beneath them (see docs/architecture.md). When something
that happens below must have an effect above (a handed-in exam paper becomes a subject
score), the lower context offers a hook and this module, which knows both, connects it.
The app factory calls `connect()` once per app; connecting again changes nothing."""

from exam_portal.services.certification import ce_notices, certificate_notices, online_courses
from exam_portal.services.delivery import hand_in, review_notices
from exam_portal.services.exam_sessions import class_notices, contests, exam_marking, notices
from exam_portal.services.platform import notifications

# The modules that register notification kinds and sweep sources as they are imported:
# imported here, so every kind is known from the start (the deliverer composing a
# notice's mail, the daily sweep) whatever pages a process has loaded.
NOTICE_MODULES = (certificate_notices, review_notices, notices, class_notices, ce_notices)


def connect() -> None:
    """Connect every hook between contexts."""
    hand_in.after_marking("exam_sessions.paper_score", exam_marking.record_paper_score)
    hand_in.after_marking("exam_sessions.contest_score", contests.record_contest_score)
    hand_in.after_marking("certification.online_course", online_courses.after_hand_in)
    notifications.connect_channels()
