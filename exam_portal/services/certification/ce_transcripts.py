"""CE transcripts (继续教育学时证明): one period's courses and hours as a signed record.

A transcript is a record of its own type (kind "CE_TRANSCRIPT", numbers "CE-…"),
signed with the certificate keys over its canonical JSON, verified on the same public
page by its number and code, and offered as the same kind of offline credential
(Open Badges 3.0 in a compact JWS) that `flask certificates verify` checks with the
published keys alone. It is a snapshot: a completion recorded later appears on the
next transcript, never on one already issued.
"""

import hmac
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import segno
import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, gettext
from markupsafe import Markup

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.continuing_education import (
    CePeriod,
    CeRegistrationStatus,
    CeTranscript,
)
from exam_portal.services import ServiceError
from exam_portal.services.certification import ce_registrations, certificates, credentials
from exam_portal.services.platform import audit, labels, pdf
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import certificates as signing
from question_bank import credentials as offline

KIND = "CE_TRANSCRIPT"
NUMBER_PREFIX = "CE"


def new_number() -> str:
    """An opaque transcript number, e.g. CE-7K2M9Q4XH3TBR8VW (the certificate alphabet)."""
    return f"{NUMBER_PREFIX}-{signing.new_number().partition('-')[2]}"


def is_transcript_number(number: str) -> bool:
    return (number or "").strip().upper().startswith(NUMBER_PREFIX + "-")


def record_of(transcript: CeTranscript) -> dict:
    return json.loads(transcript.payload)


def _level_names(level: str) -> tuple[str, str]:
    names = []
    for locale in ("zh_CN", "en"):
        with force_locale(locale):
            names.append(str(labels.LEVELS[level]))
    return names[0], names[1]


def issue(period: CePeriod, holder: User, *, now: datetime) -> CeTranscript:
    """Sign a transcript of the holder's period as it stands (audited)."""
    registration = period.registration
    if registration.user_id != holder.id or registration.status is not \
            CeRegistrationStatus.ACTIVE:
        raise ServiceError(gettext("只能为本人已生效的登记开具学时证明。"))
    profile = holder.profile
    if profile is None or not profile.real_name or not profile.resident_id_masked:
        raise ServiceError(gettext("个人资料缺少姓名或身份证号码，不能开具学时证明。"))
    state = ce_registrations.standing_of(period)
    courses = [
        {"title": course.title, "provider": course.institution.name,
         "hours": str(course.hours), "category": course.category.value,
         "delivery": course.delivery.value, "completed_on": c.completed_on.isoformat()}
        for c, course in ce_registrations.completions_of(holder.id)
        if c.completed_on in state.period]
    number = new_number()
    level_zh, level_en = _level_names(registration.level.value)
    record = {
        "number": number, "kind": KIND, "title": current_app.config["CE_TRANSCRIPT_TITLE"],
        "issuer": current_app.config["CERT_ISSUER"],
        "holder": {"name": profile.real_name, "id": profile.resident_id_masked},
        "level": registration.level.value, "level_name": f"{level_zh} {level_en}",
        "registered_on": registration.registered_on.isoformat(),
        "period": {"number": period.number, "starts_on": period.starts_on.isoformat(),
                   "ends_on": period.ends_on.isoformat()},
        "hours": {"required": str(state.required), "credited": str(state.credited)},
        "courses": courses,
        "issued_at": now.astimezone(UTC).replace(microsecond=0).isoformat(timespec="seconds"),
    }
    key_id, key = certificates.signing_keys()[0]
    payload = signing.canonical(record)
    transcript = CeTranscript(
        number=number, verification_code=signing.new_code(), user_id=holder.id,
        period_id=period.id, payload=payload.decode("utf-8"), key_id=key_id,
        signature=signing.sign(payload, key),
        issued_at=now.astimezone(UTC).replace(microsecond=0))
    db.session.add(transcript)
    db.session.flush()
    audit.record("ce.transcript_issued", target=transcript, actor=holder, details={
        "number": number, "period": period.id, "hours": str(state.credited),
        "key_id": key_id})
    return transcript


def own_transcripts(user: User, period_ids: list[int]) -> dict[int, list[CeTranscript]]:
    found: dict[int, list[CeTranscript]] = {}
    for transcript in db.session.scalars(sa.select(CeTranscript).where(
            CeTranscript.user_id == user.id, CeTranscript.period_id.in_(period_ids))
            .order_by(CeTranscript.issued_at.desc(), CeTranscript.id.desc())):
        found.setdefault(transcript.period_id, []).append(transcript)
    return found


def own_transcript(transcript_id: int, user: User) -> CeTranscript | None:
    transcript = db.session.get(CeTranscript, transcript_id)
    return transcript if transcript is not None and transcript.user_id == user.id else None


def signature_valid(transcript: CeTranscript) -> bool:
    """The stored bytes carry a good signature by a published key, and name this
    transcript (its number)."""
    payload = transcript.payload.encode("utf-8")
    try:
        keys = certificates.public_keys()
    except ServiceError:
        return False
    if not signing.verify(payload, transcript.signature, transcript.key_id, keys):
        return False
    try:
        return json.loads(payload).get("number") == transcript.number
    except ValueError:
        return False


def find(number: str, code: str) -> CeTranscript | None:
    """The transcript with this number and code, or None (one answer for both wrong)."""
    number, code = (number or "").strip().upper(), (code or "").strip()
    if not number or not code or len(number) > 24 or len(code) > 40:
        return None
    transcript = db.session.scalar(sa.select(CeTranscript).where(CeTranscript.number == number))
    given = code.encode("utf-8")
    if transcript is None:
        hmac.compare_digest(given, given)
        return None
    stored = transcript.verification_code.encode("utf-8")
    return transcript if hmac.compare_digest(stored, given) else None


def verify_url(transcript: CeTranscript) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/verify?{urlencode({'n': transcript.number, 'c': transcript.verification_code})}"


def render_pdf(transcript: CeTranscript) -> bytes:
    """The PDF, rendered from the signed record (not from today's rows)."""
    url = verify_url(transcript)
    qr = Markup(segno.make(url, error="m").svg_inline(scale=3, border=2))  # noqa: S704 - our own SVG
    return pdf.html_to_pdf(render_template(
        "continuing_education/transcript_pdf.html", transcript=transcript,
        record=record_of(transcript), qr=qr, verify_url=url, local_zone=LOCAL_ZONE))


def credential_of(transcript: CeTranscript) -> str:
    """The transcript as a compact JWS credential, like a certificate's."""
    if not signature_valid(transcript):
        raise ServiceError(gettext("学时证明记录的签名校验失败，不能生成离线凭证。"))
    record = record_of(transcript)
    achievement = offline.Achievement(
        f"{KIND}:{record['level']}", f"{record['title']} · {record['level_name']}",
        f"{record['title']}（{record['issuer']}）",
        "登记有效期内取得的继续教育学时。 Continuing-education hours credited in a period"
        " of registration.", "Transcript")
    credential = offline.build_credential(record, achievement,
                                          issuer_id=credentials.issuer_id(),
                                          verify_url=verify_url(transcript))
    key_id, key = certificates.signing_keys()[0]
    return offline.encode(credential, key_id, key,
                          kid=f"{credentials.keys_url()}#{key_id}")
