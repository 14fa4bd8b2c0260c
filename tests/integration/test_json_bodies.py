"""JSON bodies the portal reads: anything that is not the object a route expects is a
400 with a message, never a 500, and changes nothing."""

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.attempts import Bookmark
from question_bank.subjects import Subject

from .practice_support import candidate, case_item, objective_bank, open_attempt, publish, start
from .test_practice import _responses

# Pages, forms and access rules: they read and write alike on both databases.
pytestmark = pytest.mark.usefixtures("one_leg")

DEEP = 50_000
# Nested arrays are the smallest deep body (100 KB), so one also goes through the save's
# hot path, which reads bodies up to 128 KB; nested objects are larger and go to Flask.
DEEP_BODIES = {
    "arrays": "[" * DEEP + "]" * DEEP,
    "objects": '{"a":' * DEEP + "1" + "}" * DEEP,
    "inside a valid answer": '{"seq": 1, "selected": ' + "[" * DEEP + "]" * DEEP + "}",
}


def _post_raw(client, method, url, body):
    return client.open(url, method=method, data=body, content_type="application/json")


@pytest.mark.parametrize("shape", DEEP_BODIES)
def test_a_deeply_nested_save_is_refused_with_400_and_stores_nothing(app, caplog, shape):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    open_attempt(client, attempt_id)
    response = _post_raw(client, "PUT", f"/practice/attempts/{attempt_id}/responses/1",
                         DEEP_BODIES[shape])
    assert response.status_code == 400
    assert response.get_json()["message"]
    assert _responses(app, attempt_id) == {}
    # The hot path refuses it as the view does, not by crashing into the view.
    assert "hot path failed" not in caplog.text


@pytest.mark.parametrize("shape", DEEP_BODIES)
def test_a_deeply_nested_bookmark_is_refused_with_400_and_keeps_the_bookmark(app, shape):
    objective_bank(app, singles=20, multis=0, chapters=1)
    _, client = candidate(app)
    attempt_id = start(client, mode="RANDOM", count="10")
    url = f"/practice/attempts/{attempt_id}/responses/2/bookmark"
    assert client.post(url, json={"bookmarked": True}).get_json() == {"bookmarked": True}
    response = _post_raw(client, "POST", url, DEEP_BODIES[shape])
    assert response.status_code == 400
    assert response.get_json()["message"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Bookmark)) == 1


@pytest.mark.parametrize("body", ["[1]", '"yes"', "null", "{", "1e999999"])
def test_a_bookmark_body_that_is_not_an_object_is_refused_and_keeps_the_bookmark(app, body):
    objective_bank(app, singles=20, multis=0, chapters=1)
    _, client = candidate(app)
    attempt_id = start(client, mode="RANDOM", count="10")
    url = f"/practice/attempts/{attempt_id}/responses/2/bookmark"
    client.post(url, json={"bookmarked": True})
    response = _post_raw(client, "POST", url, body)
    assert response.status_code == 400
    assert response.get_json()["message"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Bookmark)) == 1


def _subjective_attempt(app):
    publish(app, [case_item(Subject.PRAC_MID, "PRAC_MID.05") for _ in range(3)])
    _, client = candidate(app)
    attempt_id = start(client, Subject.PRAC_MID, mode="CHAPTER", chapters=["PRAC_MID.05"],
                       count="2")
    device = open_attempt(client, attempt_id)["device"]
    saved = client.put(f"/practice/attempts/{attempt_id}/responses/1",
                       json={"seq": 1, "device": device, "text": "需求", "flagged": False})
    assert saved.status_code == 200
    client.post(f"/practice/attempts/{attempt_id}/responses/1/check")
    return client, f"/practice/attempts/{attempt_id}/responses/1/self-score"


@pytest.mark.parametrize("body", [*DEEP_BODIES.values(), "[1]", '"7"', "{"])
def test_a_self_score_body_that_is_not_an_object_is_refused_with_400(app, body):
    client, url = _subjective_attempt(app)
    response = _post_raw(client, "POST", url, body)
    assert response.status_code == 400
    assert response.get_json()["message"]
    assert client.post(url, json={"points": 5}).get_json() == {"self_score": "5"}
