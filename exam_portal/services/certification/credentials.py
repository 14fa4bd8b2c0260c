"""Offline credentials: a certificate as an Open Badges 3.0 credential in a compact JWS,
the JWK Set of the configured keys, and reading a key set for the offline check.

A credential is made from the record stored and signed at issue (only while that
signature still holds), signed with the current signing key, and names the public
key set and the verify page. It is the same bytes at every download until the
signing key changes. It cannot tell revocation: the verify page it links is the
authority on that, so nobody gets a credential for a revoked certificate.
"""

import json
import urllib.request
from pathlib import Path

from flask import current_app
from flask_babel import gettext

from exam_portal.models.certificates import Certificate, CertificateStatus
from exam_portal.services import ServiceError
from exam_portal.services.certification import certificate_pdf, certificates
from exam_portal.services.platform import labels
from question_bank import credentials

KEYS_PATH = "/.well-known/exam-portal-keys.json"
MAX_KEY_SET_BYTES = 1024 * 1024

# The credential is a document, not a page: its text does not follow the reader's
# language, so that every download of it is the same bytes.
_LEVELS = {
    "ASSISTANT": ("助理社会工作师", "Assistant Social Worker",
                  "两个科目在同一考试年度内均达到合格标准。"
                  " Passed both subjects in the same examination year."),
    "INTERMEDIATE": ("社会工作师", "Social Worker",
                     "三个科目在连续两个考试年度内均达到合格标准。"
                     " Passed all three subjects within two consecutive examination years."),
    "SENIOR": ("高级社会工作师", "Senior Social Worker",
               "考试合格并通过评审。 Passed the examination and the review."),
}
_ACHIEVEMENT_TYPES = {"QUALIFICATION": "Certification", "TRAINING": "CertificateOfCompletion"}


def _base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def keys_url() -> str:
    return _base_url() + KEYS_PATH


def issuer_id() -> str:
    return _base_url() + "/"


def achievement_of(record: dict) -> credentials.Achievement:
    """What a record's certificate attests, in Chinese with English."""
    kind, level, title = record.get("kind"), record.get("level"), record["title"]
    if kind == "QUALIFICATION" and level in _LEVELS:
        chinese, english, narrative = _LEVELS[level]
        return credentials.Achievement(
            f"{kind}:{level}", f"{chinese} {english}",
            f"社会工作者职业资格考试{chinese}级别合格。 Qualified at the {english} level of"
            " the social worker qualification examination.", narrative, "Certification")
    # Another kind (e.g. a training programme): told apart by whatever the record holds.
    distinct = json.dumps([kind, level, title, record.get("programme")], sort_keys=True,
                          ensure_ascii=False)
    return credentials.Achievement(
        distinct, title, f"{title}（{record['issuer']}）",
        "达到发证单位为这项证书规定的要求。 Met the requirements the issuer set for it.",
        _ACHIEVEMENT_TYPES.get(kind))


def credential_of(certificate: Certificate) -> str:
    """The certificate as a compact JWS credential; ServiceError when its stored record
    no longer carries a good signature (a credential must never launder an edit)."""
    if certificate.status is not CertificateStatus.VALID:
        # A fresh credential of a revoked certificate would check VALID offline for ever.
        raise ServiceError(gettext("这张证书已吊销，不再提供离线凭证。"))
    if not certificates.signature_valid(certificate):
        raise ServiceError(gettext("证书记录的签名校验失败，不能生成离线凭证。"))
    record = json.loads(certificate.payload)
    credential = credentials.build_credential(
        record, achievement_of(record), issuer_id=issuer_id(),
        verify_url=certificate_pdf.verify_url(certificate))
    key_id, key = certificates.signing_keys()[0]
    return credentials.encode(credential, key_id, key, kid=f"{keys_url()}#{key_id}")


def published_keys() -> dict:
    """The JWK Set of every configured key, signing and verify-only (none when no key
    is configured)."""
    try:
        keys = certificates.public_keys()
    except ServiceError:
        keys = {}
    return credentials.jwk_set(keys)


def read_key_set(source: str) -> dict[str, bytes]:
    """Public keys from a JWK Set file or an http(s) URL; ValueError with a reason."""
    if source.startswith(("https://", "http://")):
        try:
            with urllib.request.urlopen(source, timeout=10) as response:  # noqa: S310 - http(s) only
                data = response.read(MAX_KEY_SET_BYTES + 1)
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot fetch {source}: {error}") from error
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as error:
            raise ValueError(f"cannot read {source}: {error.strerror}") from error
    if len(data) > MAX_KEY_SET_BYTES:
        raise ValueError("the key set is too large")
    return credentials.parse_jwk_set(data)


def summary(payload: dict) -> list[tuple[str, str]]:
    """What a verified credential says, line by line, for the command line."""
    def member(value, name):  # a signed payload of another shape prints less, no error
        return value.get(name) if isinstance(value, dict) else None

    subject = member(payload, "credentialSubject")
    identities = {entry.get("identityType"): entry.get("identityHash")
                  for entry in member(subject, "identifier") or [] if isinstance(entry, dict)}
    record = member(payload, "certificateRecord") or {}
    issuer = member(payload, "issuer") or {}
    holder = str(identities.get("name") or "")
    if identities.get("nationalIdentityNumber"):
        holder += f" ({identities['nationalIdentityNumber']})"
    lines = [("holder", holder),
             ("achievement", member(member(subject, "achievement"), "name")),
             ("level", record.get("level")), ("programme", record.get("programme")),
             ("number", member(subject, "licenseNumber")), ("certificate", payload.get("name")),
             ("issuer", f"{issuer.get('name', '')} <{issuer.get('id', '')}>"),
             ("valid from", payload.get("validFrom"))]
    if record.get("valid_region"):
        code = str(record["valid_region"])
        lines.append(("valid region", f"{labels.region_name(code, 'zh_CN')} ({code})"))
    return [(label, str(value)) for label, value in lines if value]
