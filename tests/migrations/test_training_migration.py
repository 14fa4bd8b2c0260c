"""Migration bbe1156d5c5a (training certificates): its downgrade refuses while training
certificates exist, rather than dropping signed records with the schema."""

from datetime import date

import flask_migrate
import pytest
import sqlalchemy as sa

from exam_portal import create_app
from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.certificates import Certificate, CertificateKind
from exam_portal.services.accounts import accounts
from exam_portal.services.certification import training
from question_bank.subjects import Subject
from question_bank.training import Requirement

from ..conftest import portal_config
from .test_migrations import empty_database_url  # noqa: F401 - the two database legs

BEFORE = "e9f2c112e25a"


def test_the_downgrade_refuses_while_training_certificates_exist(empty_database_url,  # noqa: F811
                                                               capfd):
    app = create_app(portal_config(empty_database_url))
    with app.app_context():
        flask_migrate.upgrade()
        admin = accounts.create_user("migration-admin@example.com", "a long enough password",
                                     Role.ADMIN)
        programme = training.create_programme(training.ProgrammeFields(
            name="冲刺班", description="", level=None,
            requirements=(Requirement(Subject.COMP_JR, 1, 60),)), admin)
        certificate = Certificate(
            number="SW-TEST000000000001", verification_code="c" * 27,
            kind=CertificateKind.TRAINING, programme_id=programme.id,
            programme_name=programme.name, candidate_id=admin.id, holder_name="林晓",
            holder_id_masked="110105********002X", approved_on=date(2026, 3, 1),
            title="培训结业证书", issuer="运营单位", payload="{}", key_id="k", signature="s",
            issued_by_id=admin.id)
        db.session.add(certificate)
        db.session.commit()
        with pytest.raises(SystemExit):  # Flask-Migrate logs the error and exits
            flask_migrate.downgrade(revision=BEFORE)
        assert "1 training certificates exist" in capfd.readouterr().err
        db.session.rollback()
        assert "training_programmes" in sa.inspect(db.engine).get_table_names()
        db.session.execute(sa.delete(Certificate))
        db.session.commit()
        flask_migrate.downgrade(revision=BEFORE)
        inspector = sa.inspect(db.engine)
        assert "training_programmes" not in inspector.get_table_names()
        columns = {c["name"]: c for c in inspector.get_columns("certificates")}
        assert "programme_id" not in columns and not columns["level"]["nullable"]
        db.engine.dispose()
