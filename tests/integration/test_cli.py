"""Command-line tools: demo seed, create-admin, health of the demo data."""

import sqlalchemy as sa

from exam_portal.commands import demo
from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User


def test_demo_seed_is_idempotent_and_prints_the_logins(seeded):
    app, first = seeded.app, seeded.output
    runner = app.test_cli_runner()
    assert "9 new accounts" in first
    assert "admin@demo.example.com" in first
    assert "demo exam session open for registration" in first
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0 and "0 new accounts" in second.output
    assert "demo exam session" not in second.output  # only once
    with app.app_context():
        roles = db.session.scalars(sa.select(User.role)).all()
    assert sorted(r.value for r in roles) == sorted(
        ["admin", "trainer", "trainer", "trainer", "trainer", "candidate", "candidate",
         "candidate", "candidate"])
    with app.app_context():
        # The demo exam in progress sits locked forms built from the demo exam items.
        from exam_portal.models.forms import ExamForm

        locked = db.session.scalars(sa.select(ExamForm.subject).where(
            ExamForm.status == "LOCKED")).all()
    assert {subject.value for subject in locked} >= {"COMP_JR", "PRAC_JR", "COMP_MID",
                                                     "PRAC_MID"}


def _eligible_levels(client, email):
    client.post("/auth/login", data={"email": email, "password": demo.CANDIDATE_PASSWORD})
    page = client.get("/account/eligibility").get_data(as_text=True)
    client.post("/auth/logout")
    return page


def test_demo_candidates_show_each_outcome(seeded):
    client = seeded.app.test_client()
    assistant = _eligible_levels(client, "assistant@demo.example.com")
    assert assistant.count("符合报考条件") == 1
    both = _eligible_levels(client, "intermediate@demo.example.com")
    assert both.count("符合报考条件") == 2
    nothing = _eligible_levels(client, "none@demo.example.com")
    assert nothing.count("符合报考条件") == 0 and "还需" in nothing
    regional = _eligible_levels(client, "regional@demo.example.com")
    assert regional.count("符合报考条件") == 3 and "只能在西藏自治区报考" in regional


def test_demo_logins_work(seeded):
    for login in demo.DEMO_LOGINS:
        client = seeded.app.test_client()
        response = client.post("/auth/login", data={"email": login.email,
                                                   "password": login.password})
        assert response.status_code == 302, login.email


def test_create_admin_prompts_for_the_password(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create-admin", "Boss@Example.com"],
                           input="a strong admin passphrase\na strong admin passphrase\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "boss@example.com"))
    assert user.role == Role.ADMIN


def test_create_admin_refuses_a_weak_password(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "boss@example.com"], input="password\npassword\n")
    assert result.exit_code != 0 and "12" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_demo_seed_publishes_the_demo_bank_through_the_review_workflow(seeded):
    from exam_portal.models.bank import Item, ItemPool, ItemReview, ItemVersion
    from question_bank.workflow import ItemStatus

    app = seeded.app
    runner = app.test_cli_runner()
    with app.app_context():
        items = db.session.scalars(sa.select(Item)).all()
        assert items and {item.status for item in items} == {ItemStatus.PUBLISHED}
        counts = {}
        for pool, author_email, reviewer_email in (
                (ItemPool.OPEN, demo.DEMO_AUTHOR, demo.DEMO_REVIEWER),
                (ItemPool.SECURE, demo.DEMO_EXAM_AUTHOR, demo.DEMO_EXAM_REVIEWER)):
            author = db.session.scalar(sa.select(User).where(User.email == author_email))
            reviewer = db.session.scalar(sa.select(User).where(User.email == reviewer_email))
            in_pool = [item for item in items if item.pool is pool]
            assert {item.created_by_id for item in in_pool} == {author.id}
            reviewers = set(db.session.scalars(
                sa.select(ItemReview.reviewer_id).join(ItemVersion).where(
                    ItemVersion.item_id.in_([item.id for item in in_pool]))))
            assert reviewers == {reviewer.id}
            counts[pool] = len(in_pool)
    second = runner.invoke(args=["demo", "seed"])
    for pool, label in ((ItemPool.OPEN, "demo item bank"),
                        (ItemPool.SECURE, "demo exam items (secure pool)")):
        assert (f"{label}: 0 new, 0 updated, {counts[pool]} unchanged, 0 approved"
                in second.output)


def test_the_demo_assistant_can_register_for_the_demo_session(seeded):
    client = seeded.app.test_client()
    client.post("/auth/login", data={"email": "assistant@demo.example.com",
                                     "password": demo.CANDIDATE_PASSWORD})
    page = client.get("/exams").get_data(as_text=True)
    assert demo.DEMO_SESSION_NAME in page and "符合报考条件" in page


def test_the_demo_candidates_can_sit_the_demo_exam_in_progress(seeded):
    app = seeded.app
    assert demo.DEMO_EXAM_NAME in seeded.output, seeded.output
    for email, subject in (("assistant@demo.example.com", "COMP_JR"),
                           ("intermediate@demo.example.com", "PRAC_MID")):
        client = app.test_client()
        client.post("/auth/login", data={"email": email,
                                         "password": demo.CANDIDATE_PASSWORD})
        page = client.get("/exams").get_data(as_text=True)
        assert demo.DEMO_EXAM_NAME in page and "开始考试" in page
        with app.app_context():
            from exam_portal.models.sittings import Registration

            registration_id = db.session.scalar(sa.select(Registration.id).join(
                Registration.session).where(
                Registration.candidate.has(email=email),
                Registration.session.has(name=demo.DEMO_EXAM_NAME)))
        started = client.post(
            f"/exams/registrations/{registration_id}/subjects/{subject}/start")
        assert "/practice/attempts/" in started.headers["Location"], started.headers
    again = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert demo.DEMO_EXAM_NAME not in again.output


def test_the_demo_seed_writes_a_development_signing_key(one_leg, seeded, tmp_path):
    app = seeded.app
    # Not the checkout's instance folder: a key a local demo seed left there would do.
    app.instance_path = str(tmp_path)
    app.config["CERT_SIGNING_KEYS"] = None
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert "signing key" in result.output, result.output
    written = (tmp_path / "cert_signing_keys").read_text(encoding="utf-8").strip()
    assert app.config["CERT_SIGNING_KEYS"] == written and written.startswith("dev-")
    assert (tmp_path / "cert_signing_keys").stat().st_mode & 0o077 == 0
