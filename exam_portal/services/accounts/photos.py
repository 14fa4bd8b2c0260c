"""The candidate's standard ID photo (标准证件照): one at a time, on the profile, its file
in the evidence store.

Checked by its bytes against the national platform's rules (question_bank.documents:
JPEG, 295×413 px, white background) with no transaction open, then stored, then named
on the profile in one short transaction; a replaced photo's file is deleted once that
transaction commits, and a new one's if it does not. The admission ticket and the
review page read it through `photo_bytes` and `open_photo`.
"""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import CandidateProfile, Role, User
from exam_portal.services.accounts import profiles
from exam_portal.services.platform import audit, file_store
from question_bank import documents


def check(data: bytes) -> list[str]:
    """Every rule the photo breaks, each as a sentence; empty when it may be used."""
    return [problem.render(gettext) for problem in documents.check_photo(data)]


def store(data: bytes) -> str:
    """Put a checked photo in the evidence store under a new key; return the key."""
    key = file_store.new_key("photo")
    file_store.current().put(key, data, documents.DocumentKind.JPEG.content_type)
    return key


def replace(user: User, key: str, *, now: datetime) -> None:
    """Make the stored photo under *key* the candidate's photo (audited)."""
    file_store.delete_unless_committed(key)
    profile = profiles.get_or_create_profile(user)
    # Locked and read again: of two uploads at once, the second replaces (and deletes)
    # the first's photo rather than the one both read before.
    db.session.scalar(sa.select(CandidateProfile).where(CandidateProfile.id == profile.id)
                      .with_for_update().execution_options(populate_existing=True))
    previous = profile.photo_key
    profile.photo_key, profile.photo_uploaded_at = key, now
    if previous:
        file_store.delete_after_commit(previous)
    audit.record("profile.photo_replaced" if previous else "profile.photo_added",
                 target=profile, actor=user)


def photo_bytes(user: User) -> bytes | None:
    """The candidate's current photo (a JPEG), or None when there is none."""
    profile = user.profile
    if profile is None or not profile.photo_key:
        return None
    try:
        return file_store.current().get(profile.photo_key)
    except file_store.MissingFile:
        return None


def open_photo(owner: User | None, viewer: User) -> bytes | None:
    """The photo of *owner* for the owner or an administrator (audited for the
    administrator); None for anyone else, or when there is none."""
    if owner is None or owner.role is not Role.CANDIDATE:
        return None
    is_owner = viewer.id == owner.id
    if not (is_owner or viewer.role is Role.ADMIN):
        return None
    data = photo_bytes(owner)
    if data is not None and not is_owner:
        audit.record("evidence.photo_viewed", target=owner.profile, actor=viewer,
                     details={"candidate": owner.id})
    return data
