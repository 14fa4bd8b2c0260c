"""Practice and mock papers through the portal: drawing, saving, feedback, submitting, review."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.attempts import Attempt, AttemptStatus, Bookmark, Response, ReviewCard
from exam_portal.models.bank import Item
from exam_portal.models.types import utcnow
from exam_portal.services.delivery import hand_in, learning, responses
from exam_portal.services.item_bank import authoring
from question_bank.items import ItemType
from question_bank.practice import Mode
from question_bank.subjects import Subject

from .practice_support import (
    LAW,
    candidate,
    case_item,
    choice_item,
    layout,
    objective_bank,
    open_attempt,
    plan_item,
    publish,
    save,
    shown_keys,
    start,
    trainers,
    wrong_choice,
)


def _attempt(app, attempt_id) -> Attempt:
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        db.session.expunge(attempt)
        return attempt


def _paper(client, attempt_id) -> str:
    """What the delivery page shows: its own HTML and the paper it fetches."""
    page = client.get(f"/practice/attempts/{attempt_id}")
    assert page.status_code == 200
    paper = client.get(re.search(r'data-url="([^"]+)"', page.get_data(as_text=True))
                       .group(1).replace("&amp;", "&"))
    assert paper.status_code == 200 and "no-store" not in paper.headers["Cache-Control"]
    return page.get_data(as_text=True) + paper.get_data(as_text=True)


def _responses(app, attempt_id) -> dict[int, tuple]:
    with app.app_context():
        return {r.position: (r.selected, r.text, r.seq, r.is_flagged, r.is_locked)
                for r in db.session.scalars(sa.select(Response).where(
                    Response.attempt_id == attempt_id))}


def test_a_mock_paper_follows_the_exam_spec_and_its_deadline_is_set_by_the_server(app):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    items = layout(app, attempt_id)
    assert [i.section for i in items].count("single") == 60
    assert [i.section for i in items].count("multi") == 20
    assert len({i.item_id for i in items}) == 80
    attempt = _attempt(app, attempt_id)
    assert attempt.deadline_at - attempt.started_at == timedelta(minutes=120)
    assert (attempt.full_halves, attempt.pass_halves) == (200, 120)
    # Starting again gives the same open paper, not a second one.
    assert start(client) == attempt_id


def test_a_bank_too_small_for_the_paper_names_the_section_and_the_shortfall(app):
    objective_bank(app, singles=70, multis=12)
    _, client = candidate(app)
    response = client.post("/practice/subjects/COMP_JR/start", data={"mode": "MOCK"},
                           follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "多项选择题" in text and "需要 20 道，现有 12 道" in text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Attempt.id))) == 0


def test_reopening_shows_the_same_paper_order_answers_and_the_servers_time(app):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    page = _paper(client, attempt_id)
    state = open_attempt(client, attempt_id)
    assert save(client, attempt_id, 1, state["device"], 1, ["B"]).status_code == 200
    assert save(client, attempt_id, 61, state["device"], 2, ["A", "C"], flagged=True) \
        .status_code == 200
    again = _paper(client, attempt_id)
    stems = re.findall(r'<div class="stem pre-wrap mb-3">([^<]*)</div>', page)
    assert len(stems) == 80 and stems == re.findall(
        r'<div class="stem pre-wrap mb-3">([^<]*)</div>', again)
    options = re.findall(r'<span class="pre-wrap">([^<]*)</span>', page)
    assert options == re.findall(r'<span class="pre-wrap">([^<]*)</span>', again)
    resumed = open_attempt(client, attempt_id)
    assert resumed["responses"]["1"]["selected"] == ["B"]
    assert resumed["responses"]["61"] | {"seq": 0} == {
        "selected": ["A", "C"], "flagged": True, "locked": False, "seq": 0}
    assert resumed["max_seq"] == 2
    assert 7190 <= resumed["remaining"] <= 7200


def test_keys_explanations_and_key_points_never_reach_the_browser_during_a_mock(app):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    bodies = [_paper(client, attempt_id)]
    state = open_attempt(client, attempt_id)
    bodies.append(str(state))
    for position in (1, 2, 61):
        response = save(client, attempt_id, position, state["device"], position, ["A"])
        bodies.append(response.get_data(as_text=True))
        check = client.post(f"/practice/attempts/{attempt_id}/responses/{position}/check")
        assert check.status_code == 409
        bodies.append(check.get_data(as_text=True))
    bodies.append(client.get(f"/practice/attempts/{attempt_id}/clock").get_data(as_text=True))
    review = client.get(f"/practice/attempts/{attempt_id}/result")
    assert review.status_code == 302  # no review before the paper is handed in
    bodies.append(client.get("/practice/").get_data(as_text=True))
    bodies.append(client.get("/practice/attempts").get_data(as_text=True))
    for body in bodies:
        assert "SENTINEL" not in body
        assert '"keys"' not in body and "'keys'" not in body and "is-key" not in body
    client.post(f"/practice/attempts/{attempt_id}/submit")
    assert "SENTINEL" in client.get(f"/practice/attempts/{attempt_id}/result").get_data(
        as_text=True)


def test_subjective_key_points_stay_hidden_until_the_paper_is_handed_in(app):
    publish(app, [case_item(Subject.PRAC_MID, f"PRAC_MID.{n:02d}") for n in range(1, 6)]
            + [plan_item(Subject.PRAC_MID, "PRAC_MID.13")])
    _, client = candidate(app)
    attempt_id = start(client, Subject.PRAC_MID)
    page = _paper(client, attempt_id)
    state = open_attempt(client, attempt_id)
    assert "SENTINEL" not in page and "SENTINEL" not in str(state)
    response = save(client, attempt_id, 1, state["device"], 1, text="需要分析：……\n介入策略：……")
    assert response.status_code == 200
    assert save(client, attempt_id, 1, state["device"], 2, ["A"]).status_code == 400
    assert client.post(f"/practice/attempts/{attempt_id}/responses/1/self-score",
                       json={"points": 10}).status_code == 409
    client.post(f"/practice/attempts/{attempt_id}/submit")
    attempt = _attempt(app, attempt_id)
    assert attempt.score_halves is None and attempt.passed is None
    result = client.get(f"/practice/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "SENTINEL" in result and "主观题由阅卷人员评分" in result
    assert client.post(f"/practice/attempts/{attempt_id}/responses/1/self-score",
                       json={"points": 12.5}).status_code == 200
    assert client.post(f"/practice/attempts/{attempt_id}/responses/1/self-score",
                       json={"points": 25}).status_code == 400
    attempt = _attempt(app, attempt_id)
    assert attempt.self_score_halves == 25 and attempt.score_halves is None


@pytest.mark.parametrize("late, accepted", [(59, True), (61, False)])
def test_saves_and_submits_are_taken_until_the_deadline_plus_grace_only(app, late, accepted):
    objective_bank(app)
    _, client = candidate(app)
    start_time = utcnow()
    with freeze_time(start_time) as clock:
        attempt_id = start(client)
        state = open_attempt(client, attempt_id)
        assert save(client, attempt_id, 1, state["device"], 1, ["A"]).status_code == 200
        clock.move_to(start_time + timedelta(minutes=120, seconds=late))
        response = save(client, attempt_id, 1, state["device"], 2, ["B"])
        assert response.status_code == (200 if accepted else 409)
        assert _responses(app, attempt_id)[1][2] == (2 if accepted else 1)
        submit = client.post(f"/practice/attempts/{attempt_id}/submit",
                             json={} if not accepted else None)
        attempt = _attempt(app, attempt_id)
    assert attempt.status is AttemptStatus.SUBMITTED
    assert attempt.ended_by.value == ("CANDIDATE" if accepted else "DEADLINE")
    if not accepted:
        assert response.get_json()["code"] == "closed"
        assert submit.status_code in (200, 409)


def test_the_expire_command_hands_in_overdue_attempts_once_with_their_saved_answers(app):
    objective_bank(app)
    _, client = candidate(app)
    start_time = utcnow()
    with freeze_time(start_time) as clock:
        attempt_id = start(client)
        state = open_attempt(client, attempt_id)
        keys = shown_keys(app, attempt_id)
        save(client, attempt_id, 1, state["device"], 1, wrong_choice(keys[1]))
        save(client, attempt_id, 2, state["device"], 2, keys[2])
        clock.move_to(start_time + timedelta(minutes=121, seconds=1))
        runner = app.test_cli_runner()
        assert "1 overdue attempts handed in" in runner.invoke(
            args=["attempts", "expire"]).output
        assert "0 overdue attempts handed in" in runner.invoke(
            args=["attempts", "expire"]).output
    attempt = _attempt(app, attempt_id)
    assert attempt.status is AttemptStatus.SUBMITTED and attempt.ended_by.value == "DEADLINE"
    assert attempt.score_halves == 2  # position 2 right (1 point = 2 halves), position 1 wrong
    with app.app_context():
        assert db.session.scalars(sa.select(ReviewCard.times_wrong)).all() == [1]


def test_an_older_save_never_overwrites_a_newer_one_whatever_the_arrival_order(app):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    orders = [(3, 1, 4, 2), (4, 3, 2, 1), (1, 2, 3, 4), (2, 4, 1, 3)]
    for position, order in enumerate(orders, start=1):
        for seq in order:
            save(client, attempt_id, position, device, 10 * position + seq,
                 ["ABCD"[seq - 1]])
    stored = _responses(app, attempt_id)
    assert {p: stored[p][2] for p in stored} == {p: 10 * p + 4 for p in range(1, 5)}
    # The newest save of each item chose shown letter D, whatever came after it.
    resumed = open_attempt(client, attempt_id)["responses"]
    assert all(resumed[str(p)]["selected"] == ["D"] for p in range(1, 5))


def test_a_submitted_attempt_never_changes(app):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    save(client, attempt_id, 1, device, 1, ["A"])
    client.post(f"/practice/attempts/{attempt_id}/submit")
    before, attempt = _responses(app, attempt_id), _attempt(app, attempt_id)
    response = save(client, attempt_id, 1, device, 2, ["B"])
    assert response.status_code == 409 and response.get_json()["code"] == "closed"
    assert save(client, attempt_id, 2, device, 3, ["B"]).status_code == 409
    assert client.post(f"/practice/attempts/{attempt_id}/submit").status_code == 302
    assert client.post(f"/practice/attempts/{attempt_id}/open").status_code == 409
    after = _attempt(app, attempt_id)
    assert _responses(app, attempt_id) == before
    assert (after.submitted_at, after.score_halves) == (attempt.submitted_at, attempt.score_halves)


def test_opening_in_a_second_window_takes_the_attempt_over(app):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    window_one = open_attempt(client, attempt_id)["device"]
    assert save(client, attempt_id, 1, window_one, 1, ["A"]).status_code == 200
    window_two = open_attempt(client, attempt_id)["device"]
    refused = save(client, attempt_id, 1, window_one, 2, ["B"])
    assert refused.status_code == 409 and refused.get_json()["code"] == "superseded"
    assert "另一台设备" in refused.get_json()["message"]
    assert save(client, attempt_id, 1, window_two, 3, ["C"]).status_code == 200
    assert _responses(app, attempt_id)[1][2] == 3


def test_signing_in_on_a_second_device_takes_the_attempt_over(app):
    from .practice_support import login

    objective_bank(app)
    _, first = candidate(app, "two.devices@example.com")
    attempt_id = start(first)
    device_one = open_attempt(first, attempt_id)["device"]
    assert save(first, attempt_id, 1, device_one, 1, ["A"]).status_code == 200
    second = login(app, "two.devices@example.com")  # one session per account
    resumed = open_attempt(second, attempt_id)
    assert resumed["responses"]["1"]["seq"] == 1 and resumed["max_seq"] == 1
    refused = save(first, attempt_id, 1, device_one, 2, ["B"])
    assert refused.status_code == 409 and refused.get_json()["code"] == "superseded"
    assert "另一台设备" in refused.get_json()["message"]
    assert save(second, attempt_id, 1, resumed["device"], 3, ["C"]).status_code == 200
    assert _responses(app, attempt_id)[1][2] == 3
    # A page (not a JSON call) of the signed-out device goes to the login form.
    assert "/auth/login" in first.get(f"/practice/attempts/{attempt_id}").headers["Location"]


def test_a_candidate_can_never_read_save_into_or_submit_another_candidates_attempt(app):
    objective_bank(app)
    _, owner = candidate(app)
    _, intruder = candidate(app)
    attempt_id = start(owner)
    device = open_attempt(owner, attempt_id)["device"]
    save(owner, attempt_id, 1, device, 1, ["A"])
    before = _responses(app, attempt_id)
    base = f"/practice/attempts/{attempt_id}"
    assert intruder.get(base).status_code == 404
    assert intruder.get(base + "/paper").status_code == 404
    assert intruder.get(base + "/result").status_code == 404
    assert intruder.get(base + "/clock").status_code == 404
    assert intruder.post(base + "/open").status_code == 404
    assert save(intruder, attempt_id, 1, device, 9, ["B"]).status_code == 404
    assert intruder.post(base + "/responses/1/check").status_code == 404
    assert intruder.post(base + "/responses/1/bookmark", json={"bookmarked": True}) \
        .status_code == 404
    assert intruder.post(base + "/responses/1/self-score", json={"points": 1}).status_code == 404
    assert intruder.post(base + "/submit").status_code == 404
    assert _responses(app, attempt_id) == before
    assert _attempt(app, attempt_id).is_open
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Bookmark)) == 0


BAD_PAYLOADS = [
    {"seq": 5, "device": "D", "selected": ["A"], "score": 100},
    {"seq": 5, "device": "D", "selected": ["A"], "status": "SUBMITTED"},
    {"seq": 5, "device": "D", "selected": ["E"]},  # a fifth option on a single-choice item
    {"seq": 5, "device": "D", "selected": ["A", "B"]},
    {"seq": 5, "device": "D", "selected": ["A", "A"]},
    {"seq": 5, "device": "D", "selected": "A"},
    {"seq": 5, "device": "D", "text": "文字"},
    {"seq": True, "device": "D", "selected": ["A"]},
    {"seq": 2**40, "device": "D", "selected": ["A"]},
    {"seq": -1, "device": "D", "selected": ["A"]},
    {"seq": "5", "device": "D", "selected": ["A"]},
    {"seq": 5, "selected": ["A"]},
    {"seq": 5, "device": "D", "selected": ["A"], "flagged": "yes"},
    ["not", "an", "object"],
    None,
]


def test_payloads_that_are_not_an_answer_to_the_paper_are_refused_and_nothing_is_stored(app):
    # One paper for every payload: each is refused before anything is written, so
    # none can change what the next one meets.
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    single = next(i.position for i in layout(app, attempt_id) if i.section == "single")
    for payload in BAD_PAYLOADS:
        if isinstance(payload, dict) and payload.get("device") == "D":
            payload = {**payload, "device": device}
        response = client.put(f"/practice/attempts/{attempt_id}/responses/{single}",
                              json=payload)
        assert response.status_code == 400, payload
        assert response.get_json()["code"] == "invalid", payload
        assert _responses(app, attempt_id) == {}, payload
        assert _attempt(app, attempt_id).score_halves is None, payload


def test_an_item_not_in_the_paper_is_refused(app):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    for position in (0, 81, 10**6):
        assert save(client, attempt_id, position, device, 1, ["A"]).status_code in (400, 404)
    assert _responses(app, attempt_id) == {}


def test_chapter_practice_shows_the_key_after_each_answer_and_locks_it(app):
    objective_bank(app, chapters=3)
    _, client = candidate(app)
    attempt_id = start(client, mode="CHAPTER", chapters=["COMP_JR.02"], count="10")
    items = layout(app, attempt_id)
    assert {i.chapter_code for i in items} == {"COMP_JR.02"} and len(items) == 10
    assert _attempt(app, attempt_id).deadline_at is None
    device = open_attempt(client, attempt_id)["device"]
    keys = shown_keys(app, attempt_id)
    unanswered = client.post(f"/practice/attempts/{attempt_id}/responses/1/check")
    assert unanswered.status_code == 400
    save(client, attempt_id, 1, device, 1, wrong_choice(keys[1], 4 if len(keys[1]) == 1 else 5))
    feedback = client.post(f"/practice/attempts/{attempt_id}/responses/1/check").get_json()
    assert feedback["keys"] == keys[1] and feedback["correct"] is False
    assert "SENTINEL" in feedback["explanation"]
    locked = save(client, attempt_id, 1, device, 2, keys[1])
    assert locked.status_code == 409 and locked.get_json()["code"] == "locked"
    # Only the checked item's key is revealed.
    state = open_attempt(client, attempt_id)
    assert "feedback" in state["responses"]["1"] and str(state).count("SENTINEL") == 1


def test_bookmarks_are_kept_and_practised(app):
    objective_bank(app, singles=20, multis=0, chapters=1)
    _, client = candidate(app)
    attempt_id = start(client, mode="RANDOM", count="10")
    for position in (2, 5):
        response = client.post(f"/practice/attempts/{attempt_id}/responses/{position}/bookmark",
                               json={"bookmarked": True})
        assert response.get_json() == {"bookmarked": True}
    marked = {i.item_id for i in layout(app, attempt_id) if i.position in (2, 5)}
    page = client.get("/practice/bookmarks?subject=COMP_JR").get_data(as_text=True)
    assert page.count("取消收藏这道题") == 2
    redo = start(client, mode="BOOKMARKS")
    assert {i.item_id for i in layout(app, redo)} == marked
    item_id = marked.pop()
    assert client.post(f"/practice/bookmarks/{item_id}/delete").status_code == 302
    assert client.post(f"/practice/bookmarks/{item_id}/delete").status_code == 404


def test_the_daily_set_is_the_same_all_day_and_has_15_items(app):
    objective_bank(app)
    _, client = candidate(app)
    first = start(client, mode="DAILY")
    assert len(layout(app, first)) == 15
    assert start(client, mode="DAILY") == first


def test_a_law_paper_draws_only_items_in_force_at_the_law_cutoff(make_app):
    app = make_app(LAW_CUTOFF="2025-12-31")
    ids = objective_bank(app, Subject.LAW_MID, singles=62, multis=20, law=LAW)
    expired = publish(app, [choice_item(Subject.LAW_MID, ItemType.SINGLE, "LAW_MID.04",
                                        law=LAW.__class__(LAW.statute, "第一条",
                                                          LAW.valid_from,
                                                          LAW.valid_from + timedelta(days=9)))
                            for _ in range(30)])
    _, client = candidate(app)
    for _ in range(3):
        attempt_id = start(client, Subject.LAW_MID)
        drawn = {i.item_id for i in layout(app, attempt_id)}
        assert drawn <= set(ids) and not drawn & set(expired)
        client.post(f"/practice/attempts/{attempt_id}/submit")


def test_publishing_and_retiring_reach_the_next_draw(app):
    objective_bank(app, singles=60, multis=20, chapters=1)
    _, client = candidate(app)
    first = {i.item_id for i in layout(app, start(client, mode="RANDOM", count="50"))}
    extra = publish(app, [choice_item(Subject.COMP_JR, ItemType.SINGLE, "COMP_JR.01")
                          for _ in range(40)])
    author_id, _ = trainers(app)
    with app.app_context():
        from exam_portal.models.accounts import User

        for item_id in first:
            authoring.retire_item(db.session.get(Item, item_id), db.session.get(User, author_id))
        db.session.commit()
    drawn = set()
    for _ in range(3):
        attempt_id = start(client, mode="RANDOM", count="50")
        drawn |= {i.item_id for i in layout(app, attempt_id)}
    assert not drawn & first
    assert drawn & set(extra)


def test_a_paper_keeps_the_version_it_was_drawn_with_and_rescoring_is_stable(app):
    ids = objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    keys = shown_keys(app, attempt_id)
    for seq, position in enumerate(range(1, 81), 1):
        chosen = keys[position] if position % 3 else wrong_choice(keys[position])
        save(client, attempt_id, position, device, seq, chosen[:1] if position % 7 == 0
             else chosen)
    client.post(f"/practice/attempts/{attempt_id}/submit")
    stored = _attempt(app, attempt_id).score_halves
    before = client.get(f"/practice/attempts/{attempt_id}/result").get_data(as_text=True)
    author_id, reviewer_id = trainers(app)
    first = layout(app, attempt_id)[0]
    with app.app_context():
        from exam_portal.models.accounts import User

        item = db.session.get(Item, first.item_id)
        content = item.published_version.to_domain()
        changed = content.__class__(**{**content.__dict__, "stem": content.stem + "（已修订）",
                                       "keys": ("ABCD".replace(content.keys[0], "")[0],)}) \
            if content.item_type is ItemType.SINGLE else content
        authoring.revise_item(item, changed, db.session.get(User, author_id))
        authoring.approve_item(item, db.session.get(User, reviewer_id), "修订")
        db.session.commit()
        attempt = db.session.get(Attempt, attempt_id)
        assert hand_in.recompute_score(attempt) == stored
    after = client.get(f"/practice/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "（已修订）" not in after and before.count("正确答案") == after.count("正确答案")
    assert ids


def test_a_failure_while_submitting_leaves_the_attempt_open_and_unmarked(app, monkeypatch):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    keys = shown_keys(app, attempt_id)
    save(client, attempt_id, 1, device, 1, wrong_choice(keys[1]))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full while writing the wrong-answer book")

    monkeypatch.setattr(learning, "record_answers", broken)
    with pytest.raises(RuntimeError):
        client.post(f"/practice/attempts/{attempt_id}/submit")
    attempt = _attempt(app, attempt_id)
    assert attempt.is_open and attempt.score_halves is None and attempt.submitted_at is None
    assert _responses(app, attempt_id)[1][0] is not None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReviewCard)) == 0
    monkeypatch.undo()
    assert client.post(f"/practice/attempts/{attempt_id}/submit").status_code == 302
    assert not _attempt(app, attempt_id).is_open


def test_a_retried_save_or_submit_gets_the_same_result_without_duplicates(app):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    first = save(client, attempt_id, 1, device, 7, ["C"])
    retry = save(client, attempt_id, 1, device, 7, ["C"])
    assert first.status_code == retry.status_code == 200
    assert first.get_json() == retry.get_json()
    client.post(f"/practice/attempts/{attempt_id}/submit")
    score = _attempt(app, attempt_id).score_halves
    again = client.post(f"/practice/attempts/{attempt_id}/submit")
    assert again.status_code == 302 and again.headers["Location"].endswith("/result")
    assert _attempt(app, attempt_id).score_halves == score
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 1


def test_the_result_shows_score_pass_sections_chapters_and_every_item(app):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    keys = shown_keys(app, attempt_id)
    for seq, position in enumerate(range(1, 81), 1):
        save(client, attempt_id, position, device, seq, keys[position])
    client.post(f"/practice/attempts/{attempt_id}/submit")
    page = client.get(f"/practice/attempts/{attempt_id}/result").get_data(as_text=True)
    assert 'data-testid="score">100 ' in page and "及格" in page
    assert "单项选择题" in page and "多项选择题" in page and "各章得分" in page
    assert page.count('class="card mb-3 review-item"') == 80
    only_wrong = client.get(f"/practice/attempts/{attempt_id}/result?only=wrong")
    text = only_wrong.get_data(as_text=True)
    assert "只看错题（0）" in text and "这次没有答错的题" in text
    assert text.count('class="card mb-3 review-item"') == 0
    dashboard = client.get("/practice/").get_data(as_text=True)
    assert "<polyline" not in dashboard and "<circle" in dashboard  # one point so far
    # The chart has axes in per cent, the pass line named, and its figures as a table.
    assert '>100%</text>' in dashboard and '>60%</text>' in dashboard and "合格线" in dashboard
    assert "成绩数据" in dashboard and "<td>100.0%</td>" in dashboard
    assert 'data-testid="study-days">1<' in dashboard


def test_practice_pages_are_for_candidates_only(app):
    from exam_portal.models.accounts import Role

    from ..factories import make_user
    from .practice_support import login

    make_user(app, Role.TRAINER, email="trainer.practice@example.com")
    trainer = login(app, "trainer.practice@example.com")
    assert trainer.get("/practice/").status_code == 403
    assert trainer.post("/practice/subjects/COMP_JR/start", data={"mode": "MOCK"}) \
        .status_code == 403


def test_unknown_subjects_modes_and_chapters_are_refused_clearly(app):
    objective_bank(app, chapters=1)
    _, client = candidate(app)
    assert client.get("/practice/subjects/NOPE").status_code == 404
    response = client.post("/practice/subjects/COMP_JR/start", data={"mode": "HACK"},
                           follow_redirects=True)
    assert "无法开始" in response.get_data(as_text=True)
    response = client.post("/practice/subjects/COMP_JR/start",
                           data={"mode": "CHAPTER", "chapters": ["LAW_MID.01"]},
                           follow_redirects=True)
    assert "请至少选择一章" in response.get_data(as_text=True)
    response = client.post("/practice/subjects/PRAC_MID/start", data={"mode": "REDO"},
                           follow_redirects=True)
    assert "没有这种练习方式" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Attempt.id))) == 0
    assert Mode.MOCK.is_timed


def test_subjective_practice_shows_key_points_after_answering_and_keeps_self_scores_apart(app):
    publish(app, [case_item(Subject.PRAC_MID, "PRAC_MID.05") for _ in range(3)])
    _, client = candidate(app)
    attempt_id = start(client, Subject.PRAC_MID, mode="CHAPTER", chapters=["PRAC_MID.05"],
                       count="2")
    device = open_attempt(client, attempt_id)["device"]
    base = f"/practice/attempts/{attempt_id}/responses/1"
    assert client.post(base + "/self-score", json={"points": 5}).status_code == 409
    answer = "需求：安全、照顾、社会交往"
    assert save(client, attempt_id, 1, device, 1, text=answer).status_code == 200
    feedback = client.post(base + "/check").get_json()
    assert "score" not in feedback and "keys" not in feedback
    assert all("SENTINEL" in sub["key_points"][0]["text"] for sub in feedback["sub_questions"])
    assert client.post(base + "/self-score", json={"points": 7.5}).get_json() == {
        "self_score": "7.5"}
    assert client.post(base + "/self-score", json={"points": 7.25}).status_code == 400
    client.post(f"/practice/attempts/{attempt_id}/submit")
    attempt = _attempt(app, attempt_id)
    assert (attempt.score_halves, attempt.self_score_halves) == (None, 15)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReviewCard)) == 0


@pytest.mark.parametrize("change", ["role", "inactive", "logout"])
def test_the_one_statement_save_still_refuses_a_changed_or_ended_account(app, change):
    from exam_portal.models.accounts import Role, User

    objective_bank(app)
    user_id, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    assert save(client, attempt_id, 1, device, 1, ["A"]).status_code == 200
    if change == "logout":
        cookie = client.get_cookie("session").value
        client.post("/auth/logout")
        client.set_cookie("session", cookie)  # replay the old cookie
    else:
        with app.app_context():
            user = db.session.get(User, user_id)
            if change == "role":
                user.role = Role.TRAINER
            else:
                user.is_active = False
            db.session.commit()
    response = save(client, attempt_id, 1, device, 2, ["B"])
    assert response.status_code in {"role": (403,), "inactive": (302, 401),
                                    "logout": (302, 401, 409)}[change]
    assert _responses(app, attempt_id)[1][2] == 1


def test_opening_an_overdue_paper_hands_it_in_with_the_saved_answers(app):
    objective_bank(app)
    _, client = candidate(app)
    start_time = utcnow()
    with freeze_time(start_time) as clock:
        attempt_id = start(client)
        device = open_attempt(client, attempt_id)["device"]
        keys = shown_keys(app, attempt_id)
        save(client, attempt_id, 1, device, 1, keys[1])
        clock.move_to(start_time + timedelta(minutes=125))
        page = client.get(f"/practice/attempts/{attempt_id}")
        assert page.status_code == 302 and page.headers["Location"].endswith("/result")
        result = client.get(page.headers["Location"]).get_data(as_text=True)
    attempt = _attempt(app, attempt_id)
    assert attempt.ended_by.value == "DEADLINE" and attempt.score_halves == 2
    assert "时间到，按已保存的答案自动交卷" in result


def test_a_save_lands_in_its_one_statement_on_both_databases(app):
    from exam_portal.web.security import session_identity  # noqa: F401 - the path under test

    objective_bank(app)
    user_id, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    with app.app_context():
        from exam_portal.models.accounts import User

        token = db.session.get(User, user_id).session_token
        payload = {"seq": 1, "device": device, "selected": ["A"], "flagged": False}
        assert responses.try_save(attempt_id, user_id, token, 1, payload, now=utcnow()) \
            is not None
        assert responses.try_save(attempt_id, user_id, "stale-token", 1,
                                 {**payload, "seq": 2}, now=utcnow()) is None
        db.session.commit()
    assert _responses(app, attempt_id)[1][2] == 1
