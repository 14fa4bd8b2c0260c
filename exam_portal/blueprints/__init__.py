"""The pages: one package per Flask blueprint, each with its views, forms and templates."""

from flask import Flask


def register(app: Flask) -> None:
    """Register every blueprint, then wrap the app in the hot paths middleware."""
    from exam_portal.blueprints.account import bp as account_bp
    from exam_portal.blueprints.admin import bp as admin_bp
    from exam_portal.blueprints.auth import bp as auth_bp
    from exam_portal.blueprints.authoring import bp as authoring_bp
    from exam_portal.blueprints.candidate import bp as candidate_bp
    from exam_portal.blueprints.certificates import bp as certificates_bp
    from exam_portal.blueprints.classes import bp as classes_bp
    from exam_portal.blueprints.contests import bp as contests_bp
    from exam_portal.blueprints.continuing_education import bp as continuing_education_bp
    from exam_portal.blueprints.jobs import bp as jobs_bp
    from exam_portal.blueprints.main import bp as main_bp
    from exam_portal.blueprints.marking import bp as marking_bp
    from exam_portal.blueprints.notifications import bp as notifications_bp
    from exam_portal.blueprints.sittings import bp as sittings_bp
    from exam_portal.blueprints.teaching import bp as teaching_bp
    from exam_portal.blueprints.trainer_invitations import bp as trainer_invitations_bp
    from exam_portal.blueprints.training import bp as training_bp

    for blueprint in (main_bp, auth_bp, account_bp, candidate_bp, authoring_bp, admin_bp,
                      sittings_bp, jobs_bp, marking_bp, certificates_bp, contests_bp, training_bp,
                      continuing_education_bp,
                      notifications_bp, classes_bp, teaching_bp, trainer_invitations_bp):
        app.register_blueprint(blueprint)

    from exam_portal.blueprints.candidate.hot_paths import HotPaths

    app.wsgi_app = HotPaths(app, app.wsgi_app)
