"""What a view does with a service call that changes something: commit it and say so,
or roll it back and show why the service refused.

Services flush and never commit, so a view that writes hands its one service call to
`commit`, and every request's transaction ends the same way in one place. The delivery
page's JSON calls keep a rule of their own (blueprints/candidate/views.py): a refusal
there is committed, because looking the attempt up may just have handed it in.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for

from exam_portal.extensions import db
from exam_portal.services import ServiceError
from exam_portal.web.forms import submitted

Kinds = type[Exception] | tuple[type[Exception], ...]


@dataclass(frozen=True)
class Outcome:
    """A change's result once committed, or the refusal it was rolled back for."""

    result: Any = None
    refusal: ServiceError | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None


def commit(change: Callable[[], Any], success: str | Callable[[Any], str] | None = None,
           *, refusals: Kinds = ServiceError, quiet: Kinds = (), field=None,
           category: str = "danger", conflict: str | None = None) -> Outcome:
    """Run *change* and end the request's transaction with it.

    Committed: flash *success*, a message or a function of the change's result giving
    one (or None, for nothing to say).
    Refused with one of *refusals*: roll back and show the refusal under the form
    *field* (a form shown again) or else as a flash of *category*; a refusal of a
    *quiet* kind is only rolled back, for the caller to answer. With *conflict*, an
    IntegrityError (a concurrent write got there first) is refused with that message.
    Anything else propagates, for the error handler to roll back. A change that commits
    itself (a job's submission, which a worker must read) leaves nothing to commit.
    """
    kinds = _tuple(refusals) + _tuple(quiet) + ((sa.exc.IntegrityError,) if conflict else ())
    try:
        result = change()
        db.session.commit()
    except kinds as error:
        db.session.rollback()
        refusal = error if isinstance(error, ServiceError) else ServiceError(conflict)
        if not isinstance(error, _tuple(quiet)):
            _show(str(refusal), field, category)
        return Outcome(refusal=refusal)
    message = success(result) if callable(success) else success
    if message:
        flash(message, "success")
    return Outcome(result=result)


def form_page(form, change: Callable[[], Any], success: str, *,
              then: Callable[[Any], Any], template: str, **context):
    """A page whose form creates or saves one thing: on a valid post, commit *change*
    and answer *then(result)*; otherwise (first shown, invalid, or refused, the reason
    flashed) show *template* with the form."""
    if form.validate_on_submit() and (done := commit(change, success)).ok:
        return then(done.result)
    return render_template(template, form=form, **context)


def start_job(form, start: Callable[[], Any], back):
    """Start a background job from a confirmation *form*: answer with the job's page, or
    *back* with the reason it did not start."""
    if not submitted(form):
        return back
    done = commit(start)
    return redirect(url_for("jobs.job_detail", job_id=done.result.id)) if done.ok else back


def _tuple(kinds: Kinds) -> tuple[type[Exception], ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _show(message: str, field, category: str) -> None:
    if field is not None:
        field.errors = [*field.errors, message]
    else:
        flash(message, category)
