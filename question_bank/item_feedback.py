"""What candidates keep and send about an item: a private note (笔记) and a report of an
error in it (纠错), and how a trainer answers a report.

A note is one plain text per candidate and item; saving it empty deletes it. A report
names a kind and says what is wrong; while it is open the candidate cannot file another
on the same item. A trainer resolves it once, accepted or rejected, with a reply the
candidate reads.
"""

from enum import StrEnum

from .i18n import N_
from .items import Problem

NOTE_MAX_CHARS = 2000
REPORT_MIN_CHARS = 5  # "答案应为B": enough to say what is wrong
REPORT_MAX_CHARS = 1000
REPLY_MAX_CHARS = 1000


class ReportKind(StrEnum):
    KEY = "KEY"  # 答案有误
    WORDING = "WORDING"  # 题干或选项有误
    EXPLANATION = "EXPLANATION"  # 解析有误
    OUTDATED_LAW = "OUTDATED_LAW"  # 法规政策已过时
    OTHER = "OTHER"


class ReportStatus(StrEnum):
    OPEN = "OPEN"
    ACCEPTED = "ACCEPTED"  # the item is (or will be) corrected
    REJECTED = "REJECTED"  # the item stands; the reply says why

    @property
    def is_resolved(self) -> bool:
        return self is not ReportStatus.OPEN


RESOLUTIONS = (ReportStatus.ACCEPTED, ReportStatus.REJECTED)


def clean_text(text: str | None) -> str:
    """*text* as stored: one kind of line break, no surrounding blanks."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def note_problem(text: str) -> Problem | None:
    """Why a cleaned note cannot be kept, or None (an empty note deletes the note)."""
    if len(text) > NOTE_MAX_CHARS:
        return Problem("text", N_("笔记最多 %(n)d 个字。"), {"n": NOTE_MAX_CHARS})
    return None


def report_problem(kind: str | None, text: str) -> Problem | None:
    """Why a report of *kind* saying the cleaned *text* is refused, or None."""
    if kind not in ReportKind.__members__:
        return Problem("kind", N_("请选择错误类型。"))
    if len(text) < REPORT_MIN_CHARS:
        return Problem("text", N_("请说明错在哪里（至少 %(n)d 个字）。"), {"n": REPORT_MIN_CHARS})
    if len(text) > REPORT_MAX_CHARS:
        return Problem("text", N_("纠错说明最多 %(n)d 个字。"), {"n": REPORT_MAX_CHARS})
    return None


def resolution_problem(status: ReportStatus, outcome: str | None, reply: str) -> Problem | None:
    """Why a report now in *status* cannot be resolved as *outcome* with the cleaned
    *reply*, or None."""
    if status.is_resolved:
        return Problem("outcome", N_("这条纠错已经处理过了。"))
    if outcome not in {resolution.value for resolution in RESOLUTIONS}:
        return Problem("outcome", N_("请选择采纳或不采纳。"))
    if not reply:
        return Problem("reply", N_("请填写给考生的回复。"))
    if len(reply) > REPLY_MAX_CHARS:
        return Problem("reply", N_("回复最多 %(n)d 个字。"), {"n": REPLY_MAX_CHARS})
    return None
