"""What a view does with a service call that changes something: commit its work and
say so, or roll it back and show the service's reason."""

from flask import flash

from exam_portal.extensions import db
from exam_portal.services import ServiceError


def commit_or_flash(change, success, response):
    """Run *change*: commit and flash *success* of its result, or roll back and flash
    the refusal; either way answer *response*."""
    try:
        outcome = change()
    except ServiceError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(success(outcome), "success")
    return response
