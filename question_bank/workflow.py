"""The review workflow: which status changes are allowed, and by whom."""

from enum import StrEnum

from .i18n import N_


class ItemStatus(StrEnum):
    """The status of an item version; an item shows the status of its newest version."""

    DRAFT = "DRAFT"  # being written, or sent back by a reviewer
    REVIEW = "REVIEW"  # submitted, waiting for another trainer
    PUBLISHED = "PUBLISHED"  # approved: the version candidates get
    SUPERSEDED = "SUPERSEDED"  # was published; a newer version has been approved since
    RETIRED = "RETIRED"  # withdrawn: no candidate gets it any more


EDITABLE = {ItemStatus.DRAFT, ItemStatus.REVIEW}


def submit_problem(status: ItemStatus) -> str | None:
    """Why a version in *status* cannot be submitted for review, or None."""
    if status is not ItemStatus.DRAFT:
        return N_("只有草稿可以提交审核。")
    return None


def review_problem(status: ItemStatus, *, author_id: int, reviewer_id: int,
                   comment: str, approving: bool) -> str | None:
    """Why this review is refused, or None: a different trainer, with a comment or reason."""
    if status is not ItemStatus.REVIEW:
        return N_("这道题目前不在待审核状态。")
    if author_id == reviewer_id:
        return N_("不能审核自己编写的题目，请由另一位培训师审核。")
    if not comment.strip():
        return N_("请填写审核意见。") if approving else N_("请填写退回原因。")
    return None


def retire_problem(status: ItemStatus) -> str | None:
    """Why an item whose newest version is in *status* cannot be retired, or None."""
    if status is ItemStatus.RETIRED:
        return N_("这道题已经停用。")
    return None
