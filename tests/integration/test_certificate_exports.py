"""A session's certificates rendered as a ZIP of PDFs by a background job: only valid
certificates, whole or not at all, downloadable by administrators only, audited."""

import csv
import io
import os
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.audit import AuditEvent
from exam_portal.models.certificates import Certificate
from exam_portal.models.jobs import Job
from exam_portal.models.sittings import Qualification
from exam_portal.services.certification import certificate_pdf, certificates
from exam_portal.services.platform import jobs

from ..conftest import PASSWORD
from ..factories import make_user
from .test_certificates import _pdf_text, _session_with
from .test_sittings import NOW, _actor

ADMIN_EMAIL = "export-admin@example.com"


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email=ADMIN_EMAIL)


@pytest.fixture
def exports(app, tmp_path):
    app.config["EXPORT_DIR"] = str(tmp_path / "exports")
    return Path(app.config["EXPORT_DIR"])


def _issued_session(app, admin, count=3) -> tuple[int, list[Certificate]]:
    """A published session with *count* issued certificates, the first one revoked."""
    session_id = _session_with(app, admin, count)
    with app.app_context():
        issued = [certificates.issue_for_qualification(q, _actor(admin), now=NOW)
                  for q in db.session.scalars(sa.select(Qualification).order_by(Qualification.id))]
        certificates.revoke(issued[0], "信息有误", _actor(admin), now=NOW)
        db.session.commit()
        for certificate in issued:
            db.session.refresh(certificate)
            db.session.expunge(certificate)
    return session_id, issued


def _admin_client(app):
    client = app.test_client()
    client.post("/auth/login", data={"email": ADMIN_EMAIL, "password": PASSWORD})
    return client


def test_the_valid_certificates_of_a_session_download_as_one_zip(app, admin, exports,
                                                                tmp_path):
    session_id, issued = _issued_session(app, admin)
    client = _admin_client(app)
    response = client.post(f"/admin/sessions/{session_id}/certificates/export")
    assert response.status_code == 302 and "/admin/jobs/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "下载文件" in page
    with app.app_context():
        job = db.session.scalars(sa.select(Job)).one()
        assert job.status.value == "SUCCEEDED", job.error
        assert job.summary["rendered"] == 2
    download = client.get(f"/admin/jobs/{job.id}/file")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert "attachment" in download.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    download.close()  # send_file streams from an open file
    valid = sorted(c.number for c in issued[1:])
    assert sorted(archive.namelist()) == sorted([f"{n}.pdf" for n in valid] + ["index.csv"])
    first = archive.read(f"{valid[0]}.pdf")
    assert valid[0] in _pdf_text(first, tmp_path)
    # Each embedded Noto CJK face costs ~110 KB even subset: the design uses two.
    fonts = subprocess.run(["pdffonts", str(tmp_path / "certificate.pdf")], check=True,
                           capture_output=True, text=True).stdout.splitlines()[2:]
    assert len(fonts) == 2 and len(first) < 300_000
    rows = list(csv.reader(io.StringIO(archive.read("index.csv").decode("utf-8-sig"))))
    assert rows[0][0] == "证书编号" and sorted(row[0] for row in rows[1:]) == valid
    assert all("*" in row[2] for row in rows[1:])  # masked ID only
    assert list(exports.iterdir()) == [exports / job.summary["file"]]  # no .part left
    assert (exports / job.summary["file"]).stat().st_mode & 0o777 == 0o600  # names, IDs
    assert exports.stat().st_mode & 0o777 == 0o700
    with app.app_context():
        audit = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "certificate.exported")).one()
        assert audit.actor_id == admin


def test_a_new_export_replaces_the_earlier_file(app, admin, exports):
    session_id, _issued = _issued_session(app, admin, count=2)
    client = _admin_client(app)
    client.post(f"/admin/sessions/{session_id}/certificates/export")
    client.post(f"/admin/sessions/{session_id}/certificates/export")
    with app.app_context():
        first, second = db.session.scalars(sa.select(Job).order_by(Job.id)).all()
    assert client.get(f"/admin/jobs/{first.id}/file").status_code == 404
    latest = client.get(f"/admin/jobs/{second.id}/file")
    latest.close()
    assert latest.status_code == 200
    assert len(list(exports.iterdir())) == 1


def test_nothing_to_export_is_said_and_starts_no_job(app, admin, exports):
    session_id = _session_with(app, admin, 1)  # qualified, but nothing issued yet
    client = _admin_client(app)
    response = client.post(f"/admin/sessions/{session_id}/certificates/export",
                           follow_redirects=True)
    assert "还没有有效的证书" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 0
    assert not exports.exists() or list(exports.iterdir()) == []


def test_a_render_failure_leaves_no_file_and_fails_the_job(app, admin, exports, monkeypatch):
    session_id, _issued = _issued_session(app, admin)
    calls = []

    def failing_render(certificate):
        calls.append(certificate.number)
        if len(calls) == 2:
            raise OSError("disk full")
        return b"%PDF-1.7 stand-in"

    monkeypatch.setattr(certificate_pdf, "render", failing_render)
    client = _admin_client(app)
    client.post(f"/admin/sessions/{session_id}/certificates/export")
    with app.app_context():
        job = db.session.scalars(sa.select(Job)).one()
        assert job.status.value == "FAILED" and len(calls) == 2
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "certificate.exported")) == 0
    assert client.get(f"/admin/jobs/{job.id}/file").status_code == 404
    assert list(exports.iterdir()) == []


def test_only_administrators_start_or_download_an_export(app, admin, exports):
    session_id, _issued = _issued_session(app, admin, count=1)
    with app.app_context():
        job_id = jobs.submit(
            "certificates.export_session_pdfs", target_id=session_id, actor=_actor(admin),
            params={"session_id": session_id, "actor_id": admin,
                    "file": f"certificates-session-{session_id}-{'0' * 16}.zip"}).id
    allowed = _admin_client(app).get(f"/admin/jobs/{job_id}/file")
    allowed.close()
    assert allowed.status_code == 200
    for role in (Role.CANDIDATE, Role.TRAINER):
        email = f"export-{role.value}@example.com"
        make_user(app, role, email=email)
        client = app.test_client()
        client.post("/auth/login", data={"email": email, "password": PASSWORD})
        assert client.get(f"/admin/jobs/{job_id}/file").status_code == 403
        assert client.post(f"/admin/sessions/{session_id}/certificates/export").status_code == 403


def test_exports_of_other_sessions_are_kept_for_a_week_only(app, admin, exports):
    session_id, _issued = _issued_session(app, admin, count=2)
    exports.mkdir(mode=0o700)
    week_old = exports / f"certificates-session-{session_id + 1}-{'a' * 16}.zip"
    recent = exports / f"certificates-session-{session_id + 2}-{'b' * 16}.zip"
    for path in (week_old, recent):
        path.write_bytes(b"PK")
    eight_days_ago = time.time() - 8 * 86_400
    os.utime(week_old, (eight_days_ago, eight_days_ago))
    _admin_client(app).post(f"/admin/sessions/{session_id}/certificates/export")
    assert not week_old.exists() and recent.exists()
