"""Candidate profile, resident ID handling, eligibility verdicts, data export."""

import json

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import CandidateProfile

from ..conftest import PASSWORD
from ..factories import make_user

# Pages, forms and access rules: they read and write alike on both databases.
pytestmark = pytest.mark.usefixtures("one_leg")

VALID_ID = "11010519491231002X"


def profile_data(**overrides):
    data = {
        "real_name": "张晓明", "resident_id": VALID_ID, "id_consent": "y",
        "education": "BACHELOR", "major": "社会工作", "is_social_work_major": "y",
        "graduation_date": "2020-06-30", "is_full_time": "y", "region": "11",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def candidate(app, auth):
    make_user(app, email="cand@example.com")
    auth.login("cand@example.com")
    return auth.client


def _profile(app):
    with app.app_context():
        return db.session.scalar(sa.select(CandidateProfile))


def test_profile_is_saved_with_the_id_encrypted_and_masked(app, candidate):
    data = profile_data(resident_id="11010519491231002x")
    response = candidate.post("/account/profile", data=data)
    assert response.status_code == 302
    profile = _profile(app)
    assert profile.resident_id_masked == "110105********002X"
    assert VALID_ID.encode() not in profile.resident_id_ciphertext
    assert profile.birth_date.isoformat() == "1949-12-31"
    assert profile.gender.value == "FEMALE"
    page = candidate.get("/account/profile").get_data(as_text=True)
    assert "110105********002X" in page and VALID_ID not in page


def test_id_needs_a_separate_consent(app, candidate):
    response = candidate.post("/account/profile", data=profile_data(id_consent=None))
    assert "同意" in response.get_data(as_text=True)
    assert _profile(app) is None or _profile(app).resident_id_index is None


@pytest.mark.parametrize("bad_id, message", [
    ("110105194912310021", "校验位不正确"),
    ("11010519491331002X", "出生日期无效"),
    ("110105491231002", "应为 18 位"),
    ("１１０１０５１９４９１２３１００２Ｘ", "只能包含数字"),
])
def test_invalid_ids_get_a_clear_message_and_change_nothing(app, candidate, bad_id, message):
    response = candidate.post("/account/profile", data=profile_data(resident_id=bad_id))
    assert message in response.get_data(as_text=True)
    profile = _profile(app)
    assert profile is None or profile.resident_id_index is None


def test_a_resident_id_can_belong_to_one_account_only(app, candidate):
    assert candidate.post("/account/profile", data=profile_data()).status_code == 302
    make_user(app, email="other@example.com")
    other = app.test_client()
    other.post("/auth/login", data={"email": "other@example.com", "password": PASSWORD})
    response = other.post("/account/profile", data=profile_data(real_name="别人"))
    assert "已被另一个账户使用" in response.get_data(as_text=True)
    with app.app_context():
        names = db.session.scalars(sa.select(CandidateProfile.real_name)).all()
    assert names == ["张晓明"]


def test_leaving_the_id_blank_keeps_the_stored_one(app, candidate):
    candidate.post("/account/profile", data=profile_data())
    before = _profile(app).resident_id_ciphertext
    candidate.post("/account/profile", data=profile_data(resident_id="", real_name="张晓明明"))
    profile = _profile(app)
    assert profile.real_name == "张晓明明" and profile.resident_id_ciphertext == before


def test_eligibility_page_shows_route_and_shortfall(app, candidate):
    candidate.post("/account/profile", data=profile_data(graduation_date="2024-06-30"))
    page = candidate.get("/account/eligibility").get_data(as_text=True)
    assert page.count("符合报考条件") == 1      # 助理 via the SW bachelor route
    assert "社会工作专业本科及以上学历" in page
    assert page.count("暂不符合") == 2
    assert "还需" in page                       # 社会工作师 needs years of social work
    assert "需要先通过考试取得社会工作师证书" in page  # 高级


def test_employment_period_end_before_start_is_refused(app, candidate):
    response = candidate.post("/account/employment-periods", data={
        "period-employer": "某社工站", "period-start_on": "2022-01-01",
        "period-end_on": "2021-01-01", "period-is_social_work": "y"})
    assert response.status_code == 422
    assert "结束日期不能早于开始日期" in response.get_data(as_text=True)


def test_an_employment_period_needs_an_explicit_social_work_answer(app, candidate):
    page = candidate.get("/account/profile").get_data(as_text=True)
    assert 'name="period-is_social_work"' in page and "checked" not in page.split(
        'id="employment"')[1].split("</form>")[0]
    response = candidate.post("/account/employment-periods", data={
        "period-employer": "某超市", "period-start_on": "2019-01-01"})
    assert response.status_code == 422
    assert "请选择这段工作是否从事社会工作" in response.get_data(as_text=True)
    candidate.post("/account/employment-periods", data={
        "period-employer": "某超市", "period-start_on": "2019-01-01",
        "period-is_social_work": "n"})
    page = candidate.get("/account/profile").get_data(as_text=True)
    assert "非社会工作" in page


def test_a_period_inside_another_is_added_with_a_warning(app, candidate):
    candidate.post("/account/employment-periods", data={
        "period-employer": "某社工站", "period-start_on": "2018-01-01",
        "period-end_on": "2022-12-31", "period-is_social_work": "y"})
    response = candidate.post("/account/employment-periods", data={
        "period-employer": "某社工站（重复）", "period-start_on": "2019-03-01",
        "period-end_on": "2020-06-30", "period-is_social_work": "y"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "工作经历已添加" in page and "重合或包含在其中" in page and "某社工站" in page
    response = candidate.post("/account/employment-periods", data={
        "period-employer": "另一家机构", "period-start_on": "2023-01-01",
        "period-is_social_work": "y"}, follow_redirects=True)
    assert "重合或包含在其中" not in response.get_data(as_text=True)


def test_experience_reads_in_calendar_years(app, candidate):
    # Social work from 1 Jan 2013 to the cutoff, 31 Dec 2026: exactly 14 years.
    app.config["ELIGIBILITY_CUTOFF"] = "2026-12-31"
    candidate.post("/account/profile", data=profile_data(graduation_date="2012-06-30"))
    candidate.post("/account/employment-periods", data={
        "period-employer": "某社工站", "period-start_on": "2013-01-01",
        "period-is_social_work": "y"})
    page = candidate.get("/account/eligibility").get_data(as_text=True)
    assert "计入的社会工作经历：14 年<" in page.replace("</p>", "<")


def test_experience_makes_a_candidate_eligible_for_intermediate(app, candidate):
    candidate.post("/account/profile", data=profile_data(graduation_date="2015-06-30"))
    candidate.post("/account/employment-periods", data={
        "period-employer": "某社工站", "period-start_on": "2015-07-01",
        "period-is_social_work": "y"})
    page = candidate.get("/account/eligibility").get_data(as_text=True)
    assert page.count("符合报考条件") == 2


def test_candidate_downloads_all_their_data(app, candidate):
    candidate.post("/account/profile", data=profile_data())
    candidate.post("/account/employment-periods", data={
        "period-employer": "某社工站", "period-start_on": "2020-07-01",
        "period-is_social_work": "y"})
    response = candidate.post("/account/export")
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == "cand@example.com"
    assert data["profile"]["resident_id"] == VALID_ID
    assert data["employment_periods"][0]["employer"] == "某社工站"
    assert "password_hash" not in response.get_data(as_text=True)
    assert any(a["action"] == "profile.updated" for a in data["activity"])


def test_trainers_have_no_candidate_profile_pages(app, auth):
    from exam_portal.models.accounts import Role

    make_user(app, Role.TRAINER, email="t@example.com")
    auth.login("t@example.com")
    assert auth.client.get("/account/profile").status_code == 403
    assert auth.client.get("/account/").status_code == 200


@pytest.mark.parametrize("province, detail, stored, message", [
    ("510000", "513401", "513401", None),  # 西昌市, in 四川省
    ("510000", "", "510000", None),
    ("51", "", "510000", None),  # an older two-digit province code still reads
    ("510000", "110105", None, "不在所选省份内"),  # 朝阳区 is in Beijing
    ("510000", "5134", None, "6 位行政区划代码"),
    ("510000", "999999", None, "6 位行政区划代码"),
    ("513400", "", None, "请从列表中选择省份"),  # a prefecture is not a province
])
def test_the_area_is_chosen_down_to_the_county_without_scripts(app, candidate, province,
                                                                 detail, stored, message):
    response = candidate.post("/account/profile", data=profile_data(
        region=province, **{"region-detail": detail}))
    profile = _profile(app)
    if message:
        assert message in response.get_data(as_text=True)
        assert profile is None
    else:
        assert profile.region == stored
        page = candidate.get("/account/profile").get_data(as_text=True)
        assert f'value="{stored[:2]}0000" selected' in page or \
            f'selected value="{stored[:2]}0000"' in page
