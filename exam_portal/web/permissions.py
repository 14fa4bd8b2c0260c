"""Who may call which endpoint: one declared table, enforced for every request.

An endpoint missing from the table is refused (fail closed), and a test walks
`app.url_map` against this table for every role.
"""

from flask import abort, request
from flask_login import current_user

from exam_portal.extensions import db, login_manager
from exam_portal.models.accounts import Role
from exam_portal.services.platform import audit

ANYONE = "anyone"
SIGNED_IN = frozenset(Role)
CANDIDATE = frozenset({Role.CANDIDATE})
ADMIN = frozenset({Role.ADMIN})
STAFF = frozenset({Role.TRAINER, Role.ADMIN})
TRAINER = frozenset({Role.TRAINER})

ACCESS: dict[str, str | frozenset[Role]] = {
    "static": ANYONE,
    "main.index": ANYONE,
    "main.healthz": ANYONE,
    "main.set_language": ANYONE,
    "main.area_children": ANYONE,
    "main.areas": ANYONE,
    "certificates.verify": ANYONE,
    "certificates.my_certificates": CANDIDATE,
    "certificates.download_my_certificate": CANDIDATE,
    "certificates.download_certificate": ADMIN,
    "certificates.session_certificates": ADMIN,
    "certificates.issue_certificate": ADMIN,
    "certificates.issue_all": ADMIN,
    "certificates.export_pdfs": ADMIN,
    "certificates.list_certificates": ADMIN,
    "certificates.certificate_detail": ADMIN,
    "certificates.change_certificate": ADMIN,
    "certificates.published_keys": ANYONE,
    "certificates.download_my_credential": CANDIDATE,
    "certificates.download_credential": ADMIN,
    "continuing_education.my_registrations": CANDIDATE,
    "continuing_education.register_qualification": CANDIDATE,
    "continuing_education.declare_qualification": CANDIDATE,
    "continuing_education.my_document": CANDIDATE,
    "continuing_education.apply_renewal": CANDIDATE,
    "continuing_education.issue_transcript": CANDIDATE,
    "continuing_education.download_transcript": CANDIDATE,
    "continuing_education.download_transcript_credential": CANDIDATE,
    # Courses: an institution's trainers (others get 404 from the view) and administrators.
    "continuing_education.list_courses": STAFF,
    "continuing_education.create_course": STAFF,
    "continuing_education.course_detail": STAFF,
    "continuing_education.record_completion": STAFF,
    "continuing_education.import_attendance": STAFF,
    "continuing_education.link_class": STAFF,
    "continuing_education.review": ADMIN,
    "continuing_education.decide_declaration": ADMIN,
    "continuing_education.registration_document": ADMIN,
    "continuing_education.decide_renewal": ADMIN,
    "contests.list_contests": ADMIN,
    "contests.create_contest": ADMIN,
    "contests.contest_detail": ADMIN,
    "contests.rank_contest": ADMIN,
    "contests.cancel_contest": ADMIN,
    "contests.my_contests": CANDIDATE,
    "contests.start_contest": CANDIDATE,
    "contests.contest_report": CANDIDATE,
    "notifications.centre": SIGNED_IN,
    "notifications.open_notice": SIGNED_IN,
    "notifications.mark_read": SIGNED_IN,
    "notifications.mark_all_read": SIGNED_IN,
    "notifications.preferences": SIGNED_IN,
    "training.list_programmes": ADMIN,
    "training.create_programme": ADMIN,
    "training.edit_programme": ADMIN,
    "training.set_programme_active": ADMIN,
    "training.programme_detail": ADMIN,
    "training.issue_certificate": ADMIN,
    "training.issue_all": ADMIN,
    "auth.sign_up": ANYONE,
    "auth.sign_up_sent": ANYONE,
    "auth.confirm_sign_up": ANYONE,
    "auth.login": ANYONE,
    "auth.forgot_password": ANYONE,
    "auth.reset_password": ANYONE,
    "auth.logout": SIGNED_IN,
    "auth.reauthenticate": SIGNED_IN,
    "account.overview": SIGNED_IN,
    "account.change_password": SIGNED_IN,
    "account.export_my_data": SIGNED_IN,
    "account.edit_profile": CANDIDATE,
    "account.add_employment_period": CANDIDATE,
    "account.delete_employment_period": CANDIDATE,
    "account.add_held_certificate": CANDIDATE,
    "account.delete_held_certificate": CANDIDATE,
    "account.eligibility": CANDIDATE,
    "account.upload_photo": CANDIDATE,
    "candidate.dashboard": CANDIDATE,
    "candidate.choose_practice": CANDIDATE,
    "candidate.start_attempt": CANDIDATE,
    "candidate.start_past_paper": CANDIDATE,
    "candidate.list_attempts": CANDIDATE,
    "candidate.take_attempt": CANDIDATE,
    "candidate.attempt_paper": CANDIDATE,
    "candidate.open_attempt": CANDIDATE,
    "candidate.save_response": CANDIDATE,
    "candidate.check_response": CANDIDATE,
    "candidate.self_score": CANDIDATE,
    "candidate.rate_recall": CANDIDATE,
    "candidate.bookmark_item": CANDIDATE,
    "candidate.attempt_clock": CANDIDATE,
    "candidate.submit_attempt": CANDIDATE,
    "candidate.result": CANDIDATE,
    "candidate.wrong_answers": CANDIDATE,
    "candidate.bookmarks": CANDIDATE,
    "candidate.review_bookmarks": CANDIDATE,
    "candidate.review_queue": CANDIDATE,
    "candidate.mastery_map": CANDIDATE,
    "candidate.study_report_page": CANDIDATE,
    "candidate.study_report_pdf": CANDIDATE,
    "candidate.plan": CANDIDATE,
    "candidate.remove_card": CANDIDATE,
    "candidate.delete_bookmark": CANDIDATE,
    "candidate.item_notes": CANDIDATE,
    "candidate.save_note": CANDIDATE,
    "candidate.report_error": CANDIDATE,
    "candidate.my_reports": CANDIDATE,
    "authoring.list_items": STAFF,
    "authoring.item_detail": STAFF,
    "authoring.create_item": STAFF,
    "authoring.edit_item": STAFF,
    "authoring.preview_item": STAFF,
    "authoring.submit_item": STAFF,
    "authoring.review_item": STAFF,
    "authoring.approve_items": STAFF,
    "authoring.retire_item": STAFF,
    "authoring.import_items": STAFF,
    "authoring.confirm_import": STAFF,
    "authoring.import_template": STAFF,
    "authoring.import_result": STAFF,
    "authoring.download_rejects": STAFF,
    "authoring.list_incomplete_items": STAFF,
    "authoring.complete_items": STAFF,
    "authoring.approve_all_items": STAFF,
    "authoring.approval_job": STAFF,
    "authoring.approval_progress": STAFF,
    "authoring.export_items": STAFF,
    "authoring.relink_items": STAFF,
    "authoring.accept_relinks": STAFF,
    "authoring.accept_relink": STAFF,
    "authoring.list_reports": STAFF,
    "authoring.resolve_report": STAFF,
    "admin.list_users": ADMIN,
    "admin.create_user": ADMIN,
    "admin.user_detail": ADMIN,
    "admin.set_role": ADMIN,
    "admin.set_active": ADMIN,
    "admin.set_exam_author": ADMIN,
    "admin.reveal_resident_id": ADMIN,
    "admin.audit_log": ADMIN,
    "sittings.list_sessions": ADMIN,
    "sittings.create_session": ADMIN,
    "sittings.edit_session": ADMIN,
    "sittings.session_detail": ADMIN,
    "sittings.set_pass_line": ADMIN,
    "sittings.remove_pass_line": ADMIN,
    "sittings.registrations": ADMIN,
    "sittings.review_registrations": ADMIN,
    "sittings.review_registration": ADMIN,
    "sittings.decide_registration": ADMIN,
    "sittings.session_sittings": ADMIN,
    "sittings.change_sitting": ADMIN,
    "sittings.session_results": ADMIN,
    "sittings.compute_results": ADMIN,
    "sittings.publish_results": ADMIN,
    "sittings.correct_score": ADMIN,
    "sittings.import_scores": ADMIN,
    "sittings.confirm_score_import": ADMIN,
    "sittings.score_template": ADMIN,
    "sittings.senior_reviews": ADMIN,
    "sittings.record_senior_review": ADMIN,
    "sittings.session_payments": ADMIN,
    "sittings.set_fees": ADMIN,
    "sittings.import_payments": ADMIN,
    "sittings.confirm_payment_import": ADMIN,
    "sittings.payment_template": ADMIN,
    "sittings.registration_payments": ADMIN,
    "sittings.record_payment": ADMIN,
    "sittings.import_seats": ADMIN,
    "sittings.confirm_seat_import": ADMIN,
    "sittings.seat_template": ADMIN,
    "sittings.edit_timetable": ADMIN,
    # Exam forms: administrators and exam authors (other trainers get 404 from the view).
    "sittings.session_forms": STAFF,
    "sittings.edit_plan": STAFF,
    "sittings.build_forms": STAFF,
    "sittings.form_detail": STAFF,
    "sittings.lock_form": STAFF,
    "sittings.form_pdf": STAFF,
    "sittings.analyse_forms": STAFF,
    "sittings.form_analysis_page": STAFF,
    "sittings.export_form_analysis": STAFF,
    # Key decisions change scores: administrators only.
    "sittings.decide_key": ADMIN,
    "sittings.set_void_policy": ADMIN,
    "sittings.release_past_papers": ADMIN,
    "sittings.my_exams": CANDIDATE,
    "sittings.register": CANDIDATE,
    "sittings.withdraw_registration": CANDIDATE,
    "sittings.admission_ticket": CANDIDATE,
    "sittings.score_report": CANDIDATE,
    "sittings.start_sitting": CANDIDATE,
    "sittings.registration_documents": CANDIDATE,
    "sittings.upload_document": CANDIDATE,
    "sittings.delete_document": CANDIDATE,
    # The owner or an administrator: the view checks, and answers 404 to anyone else.
    "sittings.open_document": SIGNED_IN,
    "sittings.open_photo": SIGNED_IN,
    "marking.queue": STAFF,
    "marking.next_answer": STAFF,
    "marking.next_after": STAFF,
    "marking.mark_answer": STAFF,
    "marking.release_mark": STAFF,
    "marking.session_progress": STAFF,
    # Institutions (administrators), their trainers and classes (trainers of the
    # institution: the views answer 404 to anyone else), classes for candidates.
    "classes.list_institutions": ADMIN,
    "classes.create_institution": ADMIN,
    "classes.institution_detail": ADMIN,
    "classes.set_institution_active": ADMIN,
    "classes.name_institution_admin": ADMIN,
    "classes.my_institutions": TRAINER,
    "classes.institution_trainers": TRAINER,
    "classes.add_trainer": TRAINER,
    "classes.remove_trainer": TRAINER,
    # Invitations of new trainers: the institution's admins (404 for anyone else);
    # the mailed link's page is public (its token is the credential).
    "trainer_invitations.invitations": TRAINER,
    "trainer_invitations.invite": TRAINER,
    "trainer_invitations.withdraw": TRAINER,
    "trainer_invitations.accept": ANYONE,
    "classes.trainer_classes": TRAINER,
    "classes.open_class": TRAINER,
    "classes.class_detail": TRAINER,
    "classes.edit_class": TRAINER,
    "classes.close_class": TRAINER,
    "classes.new_code": TRAINER,
    "classes.import_list": TRAINER,
    "classes.withdraw_invitation": TRAINER,
    "classes.set_assignment": TRAINER,
    "classes.withdraw_assignment": TRAINER,
    "classes.my_classes": CANDIDATE,
    "classes.join_class": CANDIDATE,
    "classes.accept_invitation": CANDIDATE,
    "classes.accept_address_invitation": CANDIDATE,
    "classes.decline_address_invitation": CANDIDATE,
    "classes.leave_class": CANDIDATE,
    "classes.my_assignments": CANDIDATE,
    "classes.start_assignment": CANDIDATE,
    # A class's dashboard and the marking of its answers: trainers of the class only
    # (the views answer 404 to any other trainer).
    "teaching.class_dashboard_page": TRAINER,
    "teaching.export_dashboard": TRAINER,
    "teaching.marking_queue": TRAINER,
    "teaching.next_practice_answer": TRAINER,
    "teaching.mark_practice_answer": TRAINER,
    "jobs.list_jobs": ADMIN,
    "jobs.job_detail": ADMIN,
    "jobs.job_progress": ADMIN,
    "jobs.download_job_file": ADMIN,
}


def allowed(endpoint: str | None, role: Role | None) -> bool | None:
    """Return True/False for a role (None = anonymous); None if sign-in is needed."""
    rule = ACCESS.get(endpoint or "")
    if rule is None:
        return False
    if rule == ANYONE:
        return True
    if role is None:
        return None
    return role in rule


def enforce_access():
    """before_request hook: refuse what the table does not allow."""
    if request.endpoint is None:
        return None  # no route matched: the 404/405 handlers answer
    return check_access()


def check_access():
    """Refuse the request if the table does not allow the current user this endpoint."""
    role = current_user.role if current_user.is_authenticated else None
    verdict = allowed(request.endpoint, role)
    if verdict is None:
        return login_manager.unauthorized()
    if not verdict:
        audit.record("authz.denied", details={"endpoint": request.endpoint})
        db.session.commit()
        abort(403)
    return None
