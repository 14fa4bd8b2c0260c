"""Accounts: users, candidate profiles, employment periods, certificates held."""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow
from question_bank import eligibility
from question_bank.levels import CertificateMethod, Education, Gender, Level


class Role(enum.StrEnum):
    CANDIDATE = "candidate"
    TRAINER = "trainer"
    ADMIN = "admin"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"), default=Role.CANDIDATE)
    # Rotated at login, logout and password change: the login cookie carries it, so
    # rotating it ends every other session of this user.
    session_token: Mapped[str] = mapped_column(sa.String(64))
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    is_active: Mapped[bool] = mapped_column(default=True)
    # A trainer an administrator trusts with exam content (the secure pool).
    is_exam_author: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    profile: Mapped["CandidateProfile | None"] = relationship(back_populates="user")
    employment_periods: Mapped[list["EmploymentPeriod"]] = relationship(
        order_by="EmploymentPeriod.start_on", cascade="all, delete-orphan"
    )
    held_certificates: Mapped[list["HeldCertificate"]] = relationship(
        order_by="HeldCertificate.obtained_on", cascade="all, delete-orphan"
    )

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    @property
    def sees_secure_items(self) -> bool:
        """Administrators and exam authors work with the secure pool; nobody else."""
        return self.role is Role.ADMIN or (self.role is Role.TRAINER and self.is_exam_author)


class CandidateProfile(db.Model):
    __tablename__ = "candidate_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    real_name: Mapped[str | None] = mapped_column(sa.String(64))
    # The resident ID is sensitive personal information (PIPL art. 28): only the
    # AEAD ciphertext, a keyed blind index for uniqueness and the masked form are kept.
    resident_id_ciphertext: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    resident_id_index: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    resident_id_masked: Mapped[str | None] = mapped_column(sa.String(18))
    id_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gender: Mapped[Gender | None] = mapped_column(enum_type(Gender, "gender"))
    birth_date: Mapped[date | None]
    education: Mapped[Education | None] = mapped_column(
        enum_type(Education, "education")
    )
    major: Mapped[str | None] = mapped_column(sa.String(100))
    is_social_work_major: Mapped[bool] = mapped_column(default=False)
    graduation_date: Mapped[date | None]
    is_full_time: Mapped[bool] = mapped_column(default=True)
    region: Mapped[str | None] = mapped_column(sa.String(6))
    # The standard ID photo (标准证件照), one at a time: a JPEG in the evidence store.
    photo_key: Mapped[str | None] = mapped_column(sa.String(128), unique=True)
    photo_uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )

    user: Mapped[User] = relationship(back_populates="profile")


class EmploymentPeriod(db.Model):
    __tablename__ = "employment_periods"
    __table_args__ = (
        sa.CheckConstraint("end_on IS NULL OR end_on >= start_on", name="end_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    employer: Mapped[str] = mapped_column(sa.String(200))
    start_on: Mapped[date]
    end_on: Mapped[date | None]
    is_social_work: Mapped[bool] = mapped_column(default=True)

    def to_domain(self) -> eligibility.EmploymentPeriod:
        return eligibility.EmploymentPeriod(
            start=self.start_on, end=self.end_on, is_social_work=self.is_social_work
        )


class HeldCertificate(db.Model):
    __tablename__ = "held_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    level: Mapped[Level] = mapped_column(enum_type(Level, "level"))
    obtained_on: Mapped[date]
    method: Mapped[CertificateMethod] = mapped_column(
        enum_type(CertificateMethod, "method")
    )
    region_limit: Mapped[str | None] = mapped_column(sa.String(6))
    certificate_number: Mapped[str | None] = mapped_column(sa.String(64))

    def to_domain(self) -> eligibility.HeldCertificate:
        return eligibility.HeldCertificate(
            level=self.level,
            obtained_on=self.obtained_on,
            method=self.method,
            region_limit=self.region_limit,
        )


class PasswordResetToken(db.Model):
    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class SignUpRequest(db.Model):
    """A visitor's request to sign up with an address: the account is created when the
    link mailed to that address is opened, before expires_at, once."""

    __tablename__ = "sign_up_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ThrottleScope(enum.StrEnum):
    ACCOUNT = "account"  # anonymous attempts at one email address, registered or not
    ADDRESS = "address"  # anonymous attempts from one client address
    DEVICE = "device"  # attempts from a browser that has logged in to the account
    SESSION = "session"  # re-authentication within one login session


class LoginThrottle(db.Model):
    """Counted password attempts under one key (services/login_throttle.py). The key is
    a keyed hash: the table holds no email or client address."""

    __tablename__ = "login_throttles"

    scope: Mapped[ThrottleScope] = mapped_column(
        enum_type(ThrottleScope, "scope"), primary_key=True
    )
    key_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
