"""The item editor's live preview: whatever the request holds, an answer and never a 500."""

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.bank import Item

from ..factories import make_user
from .test_authoring import _editor_data, _login

# Pages, forms and access rules: they read and write alike on both databases.
pytestmark = pytest.mark.usefixtures("one_leg")

URL = "/authoring/items/preview?subject=COMP_JR&item_type=SINGLE"


@pytest.fixture
def client(app):
    make_user(app, Role.TRAINER, email="author@example.com")
    return _login(app, "author@example.com")


def _without(field):
    data = _editor_data()
    del data[field]
    return data


@pytest.mark.parametrize(("data", "message"), [
    (_without("source"), "请选择题目来源。"),
    (_editor_data(source="bogus"), "请选择题目来源。"),
    (_editor_data(source=""), "请选择题目来源。"),
    (_editor_data(difficulty="abc"), "难度应为 1 到 5。"),
    (_editor_data(difficulty="２"), "难度应为 1 到 5。"),
    (_editor_data(difficulty="9"), "难度应为 1 到 5。"),
    (_editor_data(difficulty="1e3"), "难度应为 1 到 5。"),
], ids=["no source", "unknown source", "empty source", "letters", "full-width digit",
        "out of range", "exponent"])
def test_a_preview_with_a_bad_source_or_difficulty_is_a_400_with_the_message(
        app, client, data, message):
    response = client.post(URL, data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0


@pytest.mark.parametrize("data", [
    _editor_data(keys=["Z"]), _editor_data(syllabus=["NOPE.99"]), _without("syllabus"),
    _editor_data(law_valid_from="not-a-date", law_statute="法"), {},
], ids=["unknown key", "unknown syllabus node", "no syllabus", "bad date", "empty form"])
def test_other_odd_previews_never_cause_a_server_error(client, data):
    assert client.post(URL, data=data).status_code < 500


@pytest.mark.parametrize("data", [_editor_data(), _without("difficulty")],
                         ids=["complete", "difficulty left at its default"])
def test_a_good_preview_is_still_a_200(client, data):
    response = client.post(URL, data=data)
    assert response.status_code == 200 and "协商公共事务" in response.get_data(as_text=True)


@pytest.mark.parametrize("data", [_editor_data(source="bogus"), _editor_data(difficulty="x")],
                         ids=["source", "difficulty"])
def test_saving_with_a_bad_source_or_difficulty_is_refused_and_stores_nothing(app, client, data):
    response = client.post("/authoring/items/new?subject=COMP_JR&item_type=SINGLE", data=data)
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0
