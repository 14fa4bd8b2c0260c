"""The exam portal: a Flask application factory."""

from flask import Flask

from exam_portal.config import Config, finish_config, settings_from_env


def create_app(test_config=None):
    """Create and configure the exam portal application."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config)
    app.config.from_mapping(settings_from_env())
    app.config.from_prefixed_env()
    if test_config is not None:
        app.config.update(test_config)
    finish_config(app)

    # The composition root: the one place that knows every layer.
    from exam_portal import blueprints, commands
    from exam_portal.services import wiring
    from exam_portal.services.accounts import login_throttle
    from exam_portal.web import errors, logs, setup

    login_throttle.check_settings(app.config)
    logs.configure(app)
    wiring.connect()
    setup.register_extensions(app)
    blueprints.register(app)
    setup.trust_proxies(app)
    errors.register_error_handlers(app)
    commands.register_commands(app)
    return app
