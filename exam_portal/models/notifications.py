"""Notifications: one row per notice a user was sent, and the user's choices per kind
and channel."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, utcnow


class Notification(db.Model):
    """A notice of one event to one user. The text is not stored: the kind's renderer
    writes it from *params* in the reader's language whenever it is shown or mailed.

    The row is the record that the event was told: (user, kind, event) is unique, so an
    event told again (a job rerun, two requests at once) adds nothing."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "kind", "event"),
        # The centre lists a user's notices newest first.
        sa.Index("ix_notifications_user_id_id", "user_id", "id"),
        # The badge counts a user's unread ones on every page.
        sa.Index("ix_notifications_unread", "user_id",
                 sqlite_where=sa.text("read_at IS NULL AND in_app"),
                 postgresql_where=sa.text("read_at IS NULL AND in_app")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    # What happened, stable across reruns ("session:12", "certificate:345:issued").
    event: Mapped[str] = mapped_column(sa.String(120))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # False when the user turned the in-app channel off for the kind but wants the mail:
    # the row still records that the event was told.
    in_app: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationPreference(db.Model):
    """A user's choice for one kind on one channel ("in_app", "email", or a plugged-in
    channel's name). No row: the kind's default (on, or off for an opt-in kind)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    is_on: Mapped[bool]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
