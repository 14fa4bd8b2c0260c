"""Running the demo seed again (scripts/run.sh does, every time) touches only the demo
bank's own items: never what trainers wrote, submitted or had rejected."""

import dataclasses

import sqlalchemy as sa

from exam_portal.commands import demo
from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.bank import Item, ItemReview
from exam_portal.services.accounts import accounts
from exam_portal.services.item_bank import authoring
from question_bank import syllabus
from question_bank.workflow import ItemStatus

from ..unit.bank_samples import MULTI, SINGLE


def _seed(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    return result.output


def _state(app) -> dict:
    """Per item: status, current version's status and stem, and how many reviews."""
    with app.app_context():
        reviews = dict(db.session.execute(
            sa.select(Item.id, sa.func.count(ItemReview.id))
            .join(Item.versions).join(ItemReview, isouter=True).group_by(Item.id)).all())
        return {item.id: (item.status, item.current_version.status,
                          item.current_version.to_domain().stem, reviews.get(item.id, 0))
                for item in db.session.scalars(sa.select(Item))}


def test_running_the_seed_again_leaves_the_trainers_own_work_alone(seeded):
    app = seeded.app
    with app.app_context():
        author = accounts.find_by_email(demo.DEMO_AUTHOR)
        reviewer = accounts.find_by_email(demo.DEMO_REVIEWER)
        draft = authoring.create_item(SINGLE, author)
        pending = authoring.create_item(MULTI, author)
        authoring.submit_item(pending, author)
        rejected = authoring.create_item(dataclasses.replace(SINGLE, stem="被退回的题（  ）。"),
                                         author)
        authoring.submit_item(rejected, author)
        authoring.reject_item(rejected, reviewer, "解析不完整")
        # Demo items a trainer is revising (one waiting for review, one sent back) or
        # has withdrawn.
        in_review, sent_back, retired = db.session.scalars(
            sa.select(Item).where(Item.external_id.like("demo-comp-jr-%"))
            .order_by(Item.id).limit(3)).all()
        authoring.retire_item(retired, author)
        for item in (in_review, sent_back):
            content = item.current_version.to_domain()
            authoring.revise_item(item, dataclasses.replace(
                content, stem=content.stem + "（培训师修订）"), author)
        authoring.reject_item(sent_back, reviewer, "修订不妥")
        db.session.commit()
        ids = (draft.id, pending.id, rejected.id, in_review.id, sent_back.id, retired.id)
    before = _state(app)
    output = _seed(app)
    after = _state(app)
    for item_id in ids:
        assert after[item_id] == before[item_id], item_id
    assert after == before
    assert "0 new, 0 updated" in output and "0 approved" in output
    assert "3 demo items left as they are" in output
    with app.app_context():
        statuses = dict(db.session.execute(sa.select(Item.id, Item.status)).all())
    assert [statuses[i] for i in ids] == [ItemStatus.DRAFT, ItemStatus.REVIEW,
                                          ItemStatus.DRAFT, ItemStatus.REVIEW, ItemStatus.DRAFT,
                                          ItemStatus.RETIRED]


def test_a_demo_item_changed_in_the_shipped_bank_is_published_again(seeded):
    app = seeded.app
    with app.app_context():
        item = db.session.scalars(sa.select(Item).where(
            Item.external_id.like("demo-comp-jr-%")).order_by(Item.id)).first()
        # As if the shipped bank had changed this item since the last seed: the
        # published version differs from the file.
        version = item.current_version
        content = version.to_domain()
        version.set_content(dataclasses.replace(content, stem=content.stem + "（旧版）"),
                            syllabus.load(version.syllabus_version).chapter_of)
        db.session.commit()
        item_id = item.id
    output = _seed(app)
    assert "0 new, 1 updated" in output and "1 approved" in output
    with app.app_context():
        item = db.session.get(Item, item_id)
        assert item.status is ItemStatus.PUBLISHED
        assert "（旧版）" not in item.current_version.to_domain().stem
        reviewer = db.session.scalar(sa.select(User).where(User.email == demo.DEMO_REVIEWER))
        assert db.session.scalar(sa.select(ItemReview.reviewer_id).where(
            ItemReview.version_id == item.current_version_id)) == reviewer.id


def test_the_demo_bank_and_sessions_follow_the_2025_syllabus(seeded):
    from exam_portal.models.bank import ItemVersion
    from exam_portal.models.sittings import ExamSession

    with seeded.app.app_context():
        versions = set(db.session.scalars(
            sa.select(ItemVersion.syllabus_version).join(
                Item, Item.published_version_id == ItemVersion.id).distinct()))
        assert versions == {demo.DEMO_BANK_SYLLABUS} == {"2025"}
        for session in db.session.scalars(sa.select(ExamSession)):
            assert session.syllabus_version == syllabus.version_for_year(session.year)


def test_a_demo_item_seeded_under_2018_moves_to_2025_as_a_new_version(seeded):
    app = seeded.app
    with app.app_context():
        # As an older seed left it: the same links, filed under the 2018 tree (this
        # item's codes are in both trees).
        item = db.session.scalar(sa.select(Item).where(
            Item.external_id == "demo-comp-jr-001"))
        assert item.current_version.to_domain().syllabus == ("COMP_JR.01.01.01",)
        item.current_version.syllabus_version = "2018"
        db.session.commit()
        item_id, old_version_id = item.id, item.current_version_id
    output = _seed(app)
    assert "0 new, 1 updated" in output and "1 approved" in output
    with app.app_context():
        item = db.session.get(Item, item_id)
        assert item.status is ItemStatus.PUBLISHED
        assert item.current_version.syllabus_version == "2025"
        assert item.published_version_id == item.current_version_id != old_version_id
        old = next(v for v in item.versions if v.id == old_version_id)
        assert old.syllabus_version == "2018" and old.status is ItemStatus.SUPERSEDED


def test_the_demo_holder_is_registered_with_a_ce_shortfall(seeded):
    from exam_portal.models.continuing_education import CeRegistration
    from exam_portal.services.certification import ce_registrations
    from exam_portal.services.platform.clock import today_local

    with seeded.app.app_context():
        registration = db.session.scalars(sa.select(CeRegistration).join(
            User, User.id == CeRegistration.user_id).where(
                User.email == "intermediate@demo.example.com")).one()
        seen = ce_registrations.overview(registration, today_local())
        assert registration.status.value == "ACTIVE" and len(seen.courses) == 2
        assert seen.standing.credited == 18.5 and seen.standing.shortfall == 53.5
    assert "demo registration" in seeded.output
    assert "demo registration" not in _seed(seeded.app)  # a rerun adds nothing
    with seeded.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CeRegistration.id))) == 1
