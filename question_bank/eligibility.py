"""Who may sit which level (报考条件): routes as data, evaluated by pure functions."""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from importlib import resources

from .levels import CertificateMethod, Education, Level

COUNTED_FROM_GRADUATION = "graduation"
COUNTED_FROM_CERTIFICATE = "certificate"


@dataclass(frozen=True)
class EmploymentPeriod:
    start: date
    end: date | None  # None: still working there
    is_social_work: bool


@dataclass(frozen=True)
class HeldCertificate:
    level: Level
    obtained_on: date
    method: CertificateMethod
    region_limit: str | None  # a regional-line certificate is valid only there


@dataclass(frozen=True)
class CandidateBackground:
    education: Education | None
    is_social_work_major: bool
    graduation_date: date | None
    is_full_time: bool
    employment: tuple[EmploymentPeriod, ...] = ()
    certificates: tuple[HeldCertificate, ...] = ()


@dataclass(frozen=True)
class Route:
    code: str  # stable: the web app uses it as a translation key
    level: Level
    min_education: Education
    requires_social_work_major: bool
    years: int  # 0: no social-work experience needed
    counted_from: str  # COUNTED_FROM_GRADUATION or COUNTED_FROM_CERTIFICATE
    required_certificate: Level | None
    certificate_by_exam_only: bool

    def __post_init__(self):
        if self.years < 0:
            raise ValueError(f"{self.code}: years must not be negative")
        if self.counted_from not in (COUNTED_FROM_GRADUATION, COUNTED_FROM_CERTIFICATE):
            raise ValueError(f"{self.code}: unknown counted_from {self.counted_from!r}")
        if (self.counted_from == COUNTED_FROM_CERTIFICATE) != (
            self.required_certificate is not None
        ):
            raise ValueError(
                f"{self.code}: certificate routes count from the certificate"
            )


class ShortfallKind(StrEnum):
    EDUCATION = "EDUCATION"
    MAJOR = "MAJOR"
    NO_GRADUATION_DATE = "NO_GRADUATION_DATE"
    GRADUATION_AFTER_CUTOFF = "GRADUATION_AFTER_CUTOFF"
    CERTIFICATE = "CERTIFICATE"
    YEARS = "YEARS"


@dataclass(frozen=True)
class Shortfall:
    kind: ShortfallKind
    route: Route
    missing_days: int = 0  # set for YEARS


@dataclass(frozen=True)
class Verdict:
    level: Level
    eligible: bool
    route: Route | None  # the matching route; None when not eligible
    shortfall: Shortfall | None  # the closest route's gap; None when eligible
    region_limit: str | None  # the candidate may apply only in this region
    social_work_days: int = 0  # counted for the route shown


def _route_from_row(row: dict) -> Route:
    certificate = row.get("required_certificate")
    return Route(
        code=row["code"],
        level=Level(row["level"]),
        min_education=Education(row["min_education"]),
        requires_social_work_major=bool(row["requires_social_work_major"]),
        years=int(row["years"]),
        counted_from=row.get("counted_from", COUNTED_FROM_GRADUATION),
        required_certificate=Level(certificate) if certificate else None,
        certificate_by_exam_only=bool(row.get("certificate_by_exam_only", False)),
    )


def _load_routes() -> tuple[Route, ...]:
    path = resources.files(__package__).joinpath("data/eligibility_routes.json")
    routes = tuple(
        _route_from_row(row)
        for row in json.loads(path.read_text(encoding="utf-8"))["routes"]
    )
    if len({route.code for route in routes}) != len(routes):
        raise ValueError("eligibility_routes.json: route codes must be unique")
    return routes


ROUTES: tuple[Route, ...] = _load_routes()


def default_cutoff(today: date, exam_month: int = 5) -> date:
    """Return 31 Dec of the coming exam year."""
    year = today.year if today.month <= exam_month else today.year + 1
    return date(year, 12, 31)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def window_first_day(years: int, cutoff: date) -> date:
    """The first day of the N calendar years that end on the cutoff."""
    return _years_before(cutoff, years) + timedelta(days=1)


def required_days(years: int, cutoff: date) -> int:
    """Return the days in the N calendar years that end on the cutoff, inclusive."""
    if years <= 0:
        return 0
    return (cutoff - _years_before(cutoff, years)).days


def social_work_days(
    periods: Iterable[EmploymentPeriod], *, counted_from: date | None, cutoff: date
) -> int:
    """Count the days of social work in [counted_from, cutoff], overlaps once."""
    spans = []
    for period in periods:
        if not period.is_social_work:
            continue
        start = (
            period.start if counted_from is None else max(period.start, counted_from)
        )
        end = cutoff if period.end is None else min(period.end, cutoff)
        if start <= end:
            spans.append((start, end))
    total = 0
    merged_start = merged_end = None
    for start, end in sorted(spans):
        if merged_end is not None and start <= merged_end + timedelta(days=1):
            merged_end = max(merged_end, end)
            continue
        if merged_end is not None:
            total += (merged_end - merged_start).days + 1
        merged_start, merged_end = start, end
    if merged_end is not None:
        total += (merged_end - merged_start).days + 1
    return total


def covers(outer: EmploymentPeriod, inner: EmploymentPeriod, *, today: date) -> bool:
    """Whether *inner* lies within *outer* (identical included), open ends read as today."""
    return (outer.start <= inner.start
            and (inner.end or today) <= (outer.end or today))


def repeated_in(period: EmploymentPeriod, others: Iterable[EmploymentPeriod], *,
                today: date) -> int | None:
    """The index of another period this one repeats: identical to it, inside it, or
    holding it. Overlaps are counted once anyway; a repeat is usually a typing slip."""
    for index, other in enumerate(others):
        if covers(other, period, today=today) or covers(period, other, today=today):
            return index
    return None


@dataclass(frozen=True)
class _Attempt:
    route: Route
    shortfall: Shortfall | None
    certificate: HeldCertificate | None = None
    days: int = 0


def _is_regional(attempt: _Attempt) -> bool:
    return (
        attempt.certificate is not None and attempt.certificate.region_limit is not None
    )


def _gap(route: Route, kind: ShortfallKind) -> _Attempt:
    return _Attempt(route, Shortfall(kind, route))


def _with_years(
    route: Route, days: int, cutoff: date, certificate: HeldCertificate | None
) -> _Attempt:
    missing = required_days(route.years, cutoff) - days
    if missing > 0:
        shortfall = Shortfall(ShortfallKind.YEARS, route, missing)
        return _Attempt(route, shortfall, certificate, days)
    return _Attempt(route, None, certificate, days)


def _try_route(background: CandidateBackground, route: Route, cutoff: date) -> _Attempt:
    # Checks run from the hardest gap to close to the easiest, so the gap
    # reported is the one that matters most for this route.
    education = background.education
    if education is None or education.rank < route.min_education.rank:
        return _gap(route, ShortfallKind.EDUCATION)
    if route.requires_social_work_major and not background.is_social_work_major:
        return _gap(route, ShortfallKind.MAJOR)
    graduated = background.graduation_date
    if route.min_education.rank > Education.BELOW_HIGH_SCHOOL.rank:
        if graduated is None:
            return _gap(route, ShortfallKind.NO_GRADUATION_DATE)
        # A degree counts only if obtained by the cutoff.
        if graduated > cutoff:
            return _gap(route, ShortfallKind.GRADUATION_AFTER_CUTOFF)
    # Work done while a full-time student does not count; part-time study does.
    floor = graduated if background.is_full_time else None
    if route.required_certificate is None:
        days = social_work_days(
            background.employment, counted_from=floor, cutoff=cutoff
        )
        return _with_years(route, days, cutoff, None)
    held = [
        certificate
        for certificate in background.certificates
        if certificate.level == route.required_certificate
        and certificate.obtained_on <= cutoff
        and (
            certificate.method == CertificateMethod.EXAM
            or not route.certificate_by_exam_only
        )
    ]
    if not held:
        return _gap(route, ShortfallKind.CERTIFICATE)
    attempts = []
    for certificate in held:
        start = certificate.obtained_on
        if floor is not None:
            start = max(start, floor)
        days = social_work_days(
            background.employment, counted_from=start, cutoff=cutoff
        )
        attempts.append(_with_years(route, days, cutoff, certificate))
    met = [a for a in attempts if a.shortfall is None]
    if met:
        # A certificate valid everywhere leaves the candidate free to apply anywhere.
        return min(met, key=_is_regional)
    return max(attempts, key=lambda a: a.days)


# Lower is closer: too few years closes by itself with time, a certificate takes
# another exam, a degree or major takes years of study.
_GAP_RANK = {
    ShortfallKind.YEARS: 0,
    ShortfallKind.CERTIFICATE: 1,
    ShortfallKind.GRADUATION_AFTER_CUTOFF: 2,
    ShortfallKind.NO_GRADUATION_DATE: 3,
    ShortfallKind.MAJOR: 4,
    ShortfallKind.EDUCATION: 5,
}


def _closeness(index: int, attempt: _Attempt) -> tuple[int, int, int, int, int]:
    shortfall = attempt.shortfall
    route = attempt.route
    step_up = (
        route.min_education.rank if shortfall.kind == ShortfallKind.EDUCATION else 0
    )
    return (
        _GAP_RANK[shortfall.kind],
        shortfall.missing_days,
        step_up,
        route.years,
        index,
    )


def evaluate(
    background: CandidateBackground,
    level: Level,
    cutoff: date,
    routes: Iterable[Route] = ROUTES,
) -> Verdict:
    """Decide whether a candidate may apply for *level*, with the route or the gap.

    Each route of the level is checked in turn: education, major, graduation date,
    certificate, then years; the first failed check is that route's gap.

    Eligible: the route that is met without a regional-line certificate if there
    is one, then the one needing the fewest years, then data order.

    Not eligible: the closest route, ranked by
    1. gap kind: YEARS, then CERTIFICATE, then GRADUATION_AFTER_CUTOFF,
       NO_GRADUATION_DATE, MAJOR, EDUCATION;
    2. fewest missing days (YEARS gaps);
    3. lowest minimum education (EDUCATION gaps: the smallest step up);
    4. fewest years required, then data order.
    """
    attempts = [
        (index, _try_route(background, route, cutoff))
        for index, route in enumerate(routes)
        if route.level == level
    ]
    met = [(index, a) for index, a in attempts if a.shortfall is None]
    if met:
        _, chosen = min(
            met, key=lambda pair: (_is_regional(pair[1]), pair[1].route.years, pair[0])
        )
        region = chosen.certificate.region_limit if chosen.certificate else None
        return Verdict(level, True, chosen.route, None, region, chosen.days)
    if not attempts:
        return Verdict(level, False, None, None, None)
    _, closest = min(attempts, key=lambda pair: _closeness(*pair))
    return Verdict(level, False, None, closest.shortfall, None, closest.days)


def evaluate_all(
    background: CandidateBackground,
    cutoff: date,
    routes: Iterable[Route] = ROUTES,
) -> tuple[Verdict, ...]:
    """Evaluate every level, in Level order."""
    routes = tuple(routes)
    return tuple(evaluate(background, level, cutoff, routes) for level in Level)
