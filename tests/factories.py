"""Test data builders: valid defaults, committed, returned by id."""

import itertools

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.services.accounts import accounts

from .conftest import PASSWORD

_counter = itertools.count(1)


def make_user(app, role: Role = Role.CANDIDATE, *, email=None, password=PASSWORD) -> int:
    """Create a user and return its id."""
    email = email or f"{role.value}{next(_counter)}@example.com"
    with app.app_context():
        user = accounts.create_user(email, password, role)
        db.session.commit()
        return user.id


def email_of(app, user_id: int) -> str:
    from exam_portal.models.accounts import User

    with app.app_context():
        return db.session.get(User, user_id).email


def logged_in(app, user_id: int):
    """A test client signed in as the user."""
    client = app.test_client()
    response = client.post("/auth/login", data={"email": email_of(app, user_id),
                                                "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client
