"""A session's certificates as one ZIP of PDFs (with an index), made by a background
job: each PDF takes WeasyPrint about a fifth of a second and tens of megabytes, so
many are never rendered inside a web request. The file goes to `EXPORT_DIR`, readable
by the portal's own user only, and administrators download it from the job's page.
It holds names and masked ID numbers: a newer export of the session replaces it, and
no export is kept longer than KEEP_DAYS."""

import csv
import io
import os
import re
import secrets
import time
import zipfile
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.certificates import Certificate, CertificateStatus
from exam_portal.models.jobs import Job
from exam_portal.models.sittings import ExamSession
from exam_portal.services import ServiceError
from exam_portal.services.certification import certificate_pdf
from exam_portal.services.platform import audit, jobs, labels
from question_bank.formats.csv_format import protect

EXPORT_JOB = "certificates.export_session_pdfs"
PHASE_RENDERING = "rendering"
BATCH = 50  # certificates loaded, rendered and reported at a time
KEEP_DAYS = 7
_FILE_NAME = re.compile(r"certificates-session-(\d+)-[0-9a-f]{16}\.zip")


def export_dir() -> Path:
    return Path(current_app.config["EXPORT_DIR"])


def _valid_certificates(session_id: int):
    return sa.select(Certificate.id).where(Certificate.session_id == session_id,
                                           Certificate.status == CertificateStatus.VALID)


def start_export(session: ExamSession, actor: User) -> Job:
    """Render every valid certificate of the session into a ZIP, as a background job."""
    if not db.session.scalar(sa.select(sa.exists(_valid_certificates(session.id)))):
        raise ServiceError(gettext("这个考试批次还没有有效的证书。"))
    name = f"certificates-session-{session.id}-{secrets.token_hex(8)}.zip"
    return jobs.submit(EXPORT_JOB, target_id=session.id, actor=actor,
                       params={"session_id": session.id, "actor_id": actor.id, "file": name})


def _index_row(certificate: Certificate) -> list[str]:
    region = labels.region_name(certificate.valid_region, "zh_CN") if certificate.valid_region \
        else "全国"
    return [protect(value) for value in (
        certificate.number, certificate.holder_name, certificate.holder_id_masked,
        str(labels.LEVELS[certificate.level]), region, certificate.approved_on.isoformat())]


@jobs.job_kind(EXPORT_JOB)
def _export_job(params: dict, progress: jobs.Progress) -> dict:
    session_id, name = params["session_id"], params["file"]
    if db.session.get(ExamSession, session_id) is None or _FILE_NAME.fullmatch(name) is None:
        raise ServiceError(gettext("考试批次不存在。"))
    ids = list(db.session.scalars(_valid_certificates(session_id)
                                  .order_by(Certificate.number)))
    folder = export_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = folder / (name + ".part")
    index = io.StringIO(newline="")
    writer = csv.writer(index)
    writer.writerow(["证书编号", "姓名", "身份证号码", "级别", "有效地区", "批准日期"])
    progress(PHASE_RENDERING, 0, len(ids))
    try:
        # PDFs are compressed already: stored, not deflated again.
        stream = os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        with stream, zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_STORED) as archive:
            for start in range(0, len(ids), BATCH):
                batch = db.session.scalars(sa.select(Certificate).where(
                    Certificate.id.in_(ids[start:start + BATCH])).order_by(Certificate.number))
                for certificate in batch:
                    archive.writestr(f"{certificate.number}.pdf",
                                     certificate_pdf.render(certificate))
                    writer.writerow(_index_row(certificate))
                    db.session.expunge(certificate)  # thousands of rows never pile up
                progress(PHASE_RENDERING, min(start + BATCH, len(ids)), len(ids))
            archive.writestr("index.csv", "\ufeff" + index.getvalue())  # BOM: Excel reads UTF-8
        os.replace(partial, folder / name)  # whole or not at all
    finally:
        partial.unlink(missing_ok=True)
    try:
        audit.record("certificate.exported", target=db.session.get(ExamSession, session_id),
                     actor=db.session.get(User, params["actor_id"]),
                     details={"certificates": len(ids), "file": name})
        db.session.commit()
    except Exception:
        (folder / name).unlink(missing_ok=True)  # no file that no job or audit row names
        raise
    _remove_old_exports(folder, session_id, keep=name)
    return {"rendered": len(ids), "file": name,
            "size_mb": round((folder / name).stat().st_size / 1_048_576, 1)}


def _remove_old_exports(folder: Path, session_id: int, keep: str) -> None:
    """Keep the newest export of this session, and none older than KEEP_DAYS."""
    oldest = time.time() - KEEP_DAYS * 86_400
    for path in folder.glob("certificates-session-*.zip"):
        match = _FILE_NAME.fullmatch(path.name)
        if path.name == keep or match is None:
            continue
        if int(match.group(1)) == session_id or path.stat().st_mtime < oldest:
            path.unlink(missing_ok=True)


def export_file(job: Job) -> Path | None:
    """The file a finished export job made, while it is still there."""
    name = (job.summary or {}).get("file") if job.kind == EXPORT_JOB else None
    if not isinstance(name, str) or _FILE_NAME.fullmatch(name) is None:
        return None
    path = export_dir() / name
    return path if path.is_file() else None
