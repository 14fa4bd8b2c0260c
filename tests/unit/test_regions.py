"""Administrative divisions: the shipped GB/T 2260 list and the functions over it."""

import csv
from importlib import resources

import pytest

from question_bank import regions
from question_bank.regions import (
    REGIONS,
    Area,
    Level,
    area,
    children,
    contains,
    english_name,
    full_name,
    lineage,
    most_specific,
    normalise,
    province_of,
    provinces,
    region_by_code,
    search,
)

SICHUAN, CHENGDU, JINJIANG = "510000", "510100", "510104"
LIANGSHAN, XICHANG = "513400", "513401"


def _rows() -> list[dict[str, str]]:
    text = (resources.files("question_bank") / "data" / "areas" / "gb2260.csv").read_text(
        encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@pytest.mark.parametrize(("code", "name", "parent", "level"), [
    ("110000", "北京市", None, Level.PROVINCE),
    ("110101", "东城区", "110000", Level.COUNTY),
    (SICHUAN, "四川省", None, Level.PROVINCE),
    (CHENGDU, "成都市", SICHUAN, Level.PREFECTURE),
    (JINJIANG, "锦江区", CHENGDU, Level.COUNTY),
    (LIANGSHAN, "凉山彝族自治州", SICHUAN, Level.PREFECTURE),
    (XICHANG, "西昌市", LIANGSHAN, Level.COUNTY),
    ("622900", "临夏回族自治州", "620000", Level.PREFECTURE),
    ("622901", "临夏市", "622900", Level.COUNTY),
    ("652300", "昌吉回族自治州", "650000", Level.PREFECTURE),
    ("429004", "仙桃市", "420000", Level.COUNTY),  # 省直辖县级行政区划
    ("659001", "石河子市", "650000", Level.COUNTY),  # 自治区直辖县级行政区划
    ("500229", "城口县", "500000", Level.COUNTY),  # a municipality's county
])
def test_known_codes(code, name, parent, level):
    assert area(code) == Area(code, name, parent, level)


def test_the_csv_is_whole_and_consistent():
    rows = _rows()
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes))
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    known = set(codes)
    assert all(row["parent"] in known for row in rows if row["parent"])
    assert all(row["name"] for row in rows)
    for row in rows:
        level = area(row["code"]).level
        parent = area(row["parent"]) if row["parent"] else None
        if level is Level.PROVINCE:
            assert parent is None
        elif level is Level.PREFECTURE:
            assert parent.level is Level.PROVINCE
        else:
            assert parent.level in (Level.PROVINCE, Level.PREFECTURE)
        assert parent is None or row["code"][:2] == parent.code[:2]
    levels = [area(code).level for code in codes]
    assert levels.count(Level.PROVINCE) == 31
    assert 320 <= levels.count(Level.PREFECTURE) <= 340
    assert 2800 <= levels.count(Level.COUNTY) <= 2900


@pytest.mark.parametrize(("code", "expected"), [
    ("51", SICHUAN), (SICHUAN, SICHUAN), (LIANGSHAN, LIANGSHAN), (XICHANG, XICHANG),
    ("99", None), ("990000", None), ("abc", None), ("", None), ("5", None),
    ("5101", None), ("51000", None), ("５１", None), (" 51", None), ("66", "660000"),
])
def test_normalise(code, expected):
    assert normalise(code) == expected


def test_containment():
    assert contains(LIANGSHAN, XICHANG)
    assert not contains(LIANGSHAN, JINJIANG)
    assert contains(SICHUAN, XICHANG) and contains(SICHUAN, JINJIANG)
    assert contains("51", XICHANG) and contains(SICHUAN, "51")
    assert contains(XICHANG, XICHANG) and contains(LIANGSHAN, LIANGSHAN)
    assert not contains(XICHANG, LIANGSHAN)
    assert not contains("620000", XICHANG)
    assert contains("110000", "110101") and contains("420000", "429004")
    assert not contains("99", XICHANG) and not contains(SICHUAN, "") and not contains("", "")


def test_lineage_and_full_name():
    assert [a.code for a in lineage(XICHANG)] == [SICHUAN, LIANGSHAN, XICHANG]
    assert [a.code for a in lineage("51")] == [SICHUAN]
    assert lineage("999999") == ()
    assert full_name(XICHANG) == "四川省凉山彝族自治州西昌市"
    assert full_name(JINJIANG) == "四川省成都市锦江区"
    assert full_name("622901") == "甘肃省临夏回族自治州临夏市"
    assert full_name("110101") == "北京市东城区"
    assert full_name("429004") == "湖北省仙桃市"
    assert full_name("nope") == ""


def test_full_name_skips_pseudo_levels(monkeypatch):
    fake = regions._Index(
        {"110000": Area("110000", "北京市", None, Level.PROVINCE),
         "110100": Area("110100", "市辖区", "110000", Level.PREFECTURE),
         "110101": Area("110101", "东城区", "110100", Level.COUNTY)}, {}, ())
    monkeypatch.setattr(regions, "_index", lambda: fake)
    assert full_name("110101") == "北京市东城区"


def test_most_specific():
    lines = ["", "51", LIANGSHAN, "622900"]
    assert most_specific(lines, XICHANG) == LIANGSHAN
    assert most_specific(lines, JINJIANG) == "51"
    assert most_specific([SICHUAN, LIANGSHAN], XICHANG) == LIANGSHAN
    assert most_specific([XICHANG, SICHUAN], XICHANG) == XICHANG
    assert most_specific(lines, "622901") == "622900"
    assert most_specific(lines, "110101") is None
    assert most_specific([], XICHANG) is None
    assert most_specific(lines, "999999") is None


def test_provinces_and_children():
    assert len(provinces()) == 32  # the 31 provinces and the Corps' exam region
    assert [a.code for a in provinces()] == sorted(a.code for a in provinces())
    assert {a.name for a in provinces()} == {r.name_zh for r in REGIONS}
    liangshan = children(LIANGSHAN)
    assert liangshan[0].code == XICHANG and len(liangshan) == 17
    assert [a.code for a in liangshan] == sorted(a.code for a in liangshan)
    assert all(a.parent == LIANGSHAN for a in liangshan)
    hubei = {a.code for a in children("42")}
    assert {"420100", "422800", "429004", "429021"} <= hubei
    assert "110101" in {a.code for a in children("110000")}
    assert children(XICHANG) == () and children("99") == ()


def test_search():
    assert search("西昌")[0].code == XICHANG
    assert search("凉山")[0].code == LIANGSHAN
    found = search("四川省")
    assert found[0].code == SICHUAN
    names = [a.name for a in search("朝阳区", limit=50)]
    assert names and set(names) == {"朝阳区"}
    assert len(search("区", limit=5)) == 5
    assert search("5134", limit=3)[0].code == LIANGSHAN
    assert search("") == [] and search("  ") == [] and search("西昌", limit=0) == []
    assert search("不存在的地方") == []


def test_region_by_code_takes_both_forms():
    assert region_by_code("51") == region_by_code(SICHUAN)
    assert region_by_code(SICHUAN).name_en == "Sichuan"
    assert region_by_code("66").name_zh == "新疆生产建设兵团"
    assert region_by_code(LIANGSHAN) is None
    assert region_by_code("99") is None and region_by_code("") is None
    assert region_by_code("5") is None and region_by_code("510") is None
    for region in REGIONS:
        province = area(region.code)
        assert province.name == region.name_zh


def test_province_and_english_names():
    assert province_of(XICHANG) == SICHUAN and province_of("99") is None
    assert english_name(LIANGSHAN) == "Sichuan 凉山彝族自治州"
    assert english_name(SICHUAN) == "Sichuan" and english_name("99") == ""
    assert area("660000").name == "新疆生产建设兵团" and children("660000") == ()
