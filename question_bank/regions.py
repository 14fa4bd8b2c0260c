"""Administrative divisions of mainland China by GB/T 2260 code.

Two views of the same codes:

- ``Area``: every province, prefecture and county of the Ministry of Civil Affairs'
  list, six-digit codes, shipped as ``data/areas/gb2260.csv`` (see ``SOURCE.md``
  there). Areas nest: a pass line or a region limit set for an area applies to every
  area inside it (``contains``, ``most_specific``).
- ``Region``: the provincial-level exam regions with English names, two-digit codes,
  as the registration and pass-line forms have used them. It keeps the Xinjiang
  Production and Construction Corps (``66``), which organises its own exams but is not
  an administrative division: ``area("660000")`` is that exam region, with no areas
  inside it (its cities are in the list under Xinjiang, 650000).

Every function taking an area code also takes a legacy two-digit province code
(``"51"`` for ``"510000"``); an unknown or malformed code is never an error, it finds
nothing.
"""

import csv
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources


@dataclass(frozen=True)
class Region:
    code: str
    name_zh: str
    name_en: str


REGIONS: tuple[Region, ...] = tuple(
    Region(code, zh, en)
    for code, zh, en in (
        ("11", "北京市", "Beijing"),
        ("12", "天津市", "Tianjin"),
        ("13", "河北省", "Hebei"),
        ("14", "山西省", "Shanxi"),
        ("15", "内蒙古自治区", "Inner Mongolia"),
        ("21", "辽宁省", "Liaoning"),
        ("22", "吉林省", "Jilin"),
        ("23", "黑龙江省", "Heilongjiang"),
        ("31", "上海市", "Shanghai"),
        ("32", "江苏省", "Jiangsu"),
        ("33", "浙江省", "Zhejiang"),
        ("34", "安徽省", "Anhui"),
        ("35", "福建省", "Fujian"),
        ("36", "江西省", "Jiangxi"),
        ("37", "山东省", "Shandong"),
        ("41", "河南省", "Henan"),
        ("42", "湖北省", "Hubei"),
        ("43", "湖南省", "Hunan"),
        ("44", "广东省", "Guangdong"),
        ("45", "广西壮族自治区", "Guangxi"),
        ("46", "海南省", "Hainan"),
        ("50", "重庆市", "Chongqing"),
        ("51", "四川省", "Sichuan"),
        ("52", "贵州省", "Guizhou"),
        ("53", "云南省", "Yunnan"),
        ("54", "西藏自治区", "Xizang"),
        ("61", "陕西省", "Shaanxi"),
        ("62", "甘肃省", "Gansu"),
        ("63", "青海省", "Qinghai"),
        ("64", "宁夏回族自治区", "Ningxia"),
        ("65", "新疆维吾尔自治区", "Xinjiang"),
        ("66", "新疆生产建设兵团", "Xinjiang Production and Construction Corps"),
    )
)
_BY_CODE = {region.code: region for region in REGIONS}
XPCC = "660000"


def region_by_code(code: str) -> Region | None:
    """The provincial-level region with this two-digit code or its six-digit form
    ("51" or "510000"), or None."""
    if len(code) == 6 and code.endswith("0000"):
        code = code[:2]
    return _BY_CODE.get(code) if len(code) == 2 else None


class Level(StrEnum):
    PROVINCE = "province"  # 省级: province, autonomous region, municipality
    PREFECTURE = "prefecture"  # 地级: prefecture-level city, (autonomous) prefecture, league
    COUNTY = "county"  # 县级: district, county, county-level city, banner, ...


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    parent: str | None  # the containing area's code; None for a province
    level: Level


# Rows that only group others in some editions of the list (a municipality's 市辖区,
# a province's 省直辖县级行政区划): never part of a full name. The shipped list has none.
_PSEUDO_NAMES = frozenset(
    {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


@dataclass(frozen=True)
class _Index:
    areas: dict[str, Area]
    children: dict[str, tuple[Area, ...]]
    provinces: tuple[Area, ...]


def _level(code: str) -> Level:
    if code.endswith("0000"):
        return Level.PROVINCE
    if code.endswith("00"):
        return Level.PREFECTURE
    return Level.COUNTY


@functools.cache
def _index() -> _Index:
    text = (resources.files("question_bank") / "data" / "areas" / "gb2260.csv").read_text(
        encoding="utf-8")
    areas = {}
    for row in csv.DictReader(text.splitlines()):
        code = row["code"]
        areas[code] = Area(code, row["name"], row["parent"] or None, _level(code))
    # The Corps organises its own exams as a provincial-level exam region (it is not an
    # administrative division, so the Ministry's list has no row for it).
    areas[XPCC] = Area(XPCC, "新疆生产建设兵团", None, Level.PROVINCE)
    children: dict[str, list[Area]] = {}
    for item in areas.values():
        if item.parent is not None:
            children.setdefault(item.parent, []).append(item)
    return _Index(
        areas,
        {code: tuple(sorted(items, key=lambda a: a.code)) for code, items in children.items()},
        tuple(sorted((a for a in areas.values() if a.parent is None), key=lambda a: a.code)),
    )


def province_of(code: str) -> str | None:
    """The six-digit code of the province the area lies in, or None."""
    chain = lineage(code)
    return chain[0].code if chain else None


def english_name(code: str) -> str:
    """The area in English as far as names are kept: the province's English name, then
    the Chinese names below it ("Sichuan 凉山彝族自治州西昌市"); "" if unknown."""
    chain = lineage(code)
    if not chain:
        return ""
    region = region_by_code(chain[0].code)
    rest = "".join(item.name for item in chain[1:] if item.name not in _PSEUDO_NAMES)
    head = region.name_en if region else chain[0].name
    return f"{head} {rest}" if rest else head


def normalise(code: str) -> str | None:
    """The six-digit code of a known area, given its six-digit code or a two-digit
    province code ("51" → "510000"); None for anything else."""
    if not isinstance(code, str) or not code.isascii() or not code.isdigit():
        return None
    if len(code) == 2:
        code += "0000"
    return code if len(code) == 6 and code in _index().areas else None


def area(code: str) -> Area | None:
    """The area with this code, or None."""
    six = normalise(code)
    return _index().areas[six] if six else None


def provinces() -> tuple[Area, ...]:
    """The provincial-level areas, by code."""
    return _index().provinces


def children(code: str) -> tuple[Area, ...]:
    """The areas directly inside this one, by code: a province's prefectures and the
    counties it governs directly (a municipality's districts, 省直辖县级行政区划),
    a prefecture's counties. Empty for a county or an unknown code."""
    six = normalise(code)
    return _index().children.get(six, ()) if six else ()


def lineage(code: str) -> tuple[Area, ...]:
    """The area and those containing it, from the province down to the area itself;
    empty for an unknown code."""
    index = _index()
    chain = []
    six = normalise(code)
    while six is not None:
        item = index.areas[six]
        chain.append(item)
        six = item.parent
    return tuple(reversed(chain))


def contains(outer: str, inner: str) -> bool:
    """Whether area *inner* lies within area *outer* (an area contains itself).
    False when either code is unknown."""
    six = normalise(outer)
    return six is not None and any(item.code == six for item in lineage(inner))


def full_name(code: str) -> str:
    """The names from the province down, e.g. "四川省凉山彝族自治州西昌市";
    "" for an unknown code."""
    return "".join(item.name for item in lineage(code) if item.name not in _PSEUDO_NAMES)


def most_specific(codes: Iterable[str], inner: str) -> str | None:
    """Of *codes* (e.g. the areas that have their own pass line), the deepest one that
    contains *inner*, returned as given; None if none does. Unknown codes (such as ""
    for a national line) never match."""
    best, best_depth = None, 0
    chain = [item.code for item in lineage(inner)]
    for code in codes:
        six = normalise(code)
        if six in chain:
            depth = chain.index(six) + 1
            if depth > best_depth:
                best, best_depth = code, depth
    return best


def search(text: str, limit: int = 20) -> list[Area]:
    """Areas for a picker: names containing *text* (or codes starting with it, for
    digits), best first: exact name, then names starting with it, then the rest;
    higher levels before lower ones, then by code."""
    query = text.strip()
    if not query or limit <= 0:
        return []
    found = []
    for item in _index().areas.values():
        if query.isdigit():
            if item.code.startswith(query):
                found.append((0, item))
        elif query in item.name:
            rank = 0 if item.name == query else 1 if item.name.startswith(query) else 2
            found.append((rank, item))
    order = list(Level)
    found.sort(key=lambda pair: (pair[0], order.index(pair[1].level), pair[1].code))
    return [item for _, item in found[:limit]]
