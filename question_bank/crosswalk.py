"""The crosswalk between two syllabus versions: where each node of the older tree went.

It is a proposal, reviewed once as a whole (`reviewed_on`, `reviewed_by`) and then by
trainers item by item: nothing here changes an item. `propose` turns an item's old
links into new ones; `validate` checks the data covers every old node exactly once
with targets that exist in the same subject.
"""

import functools
import json
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

from .errors import QuestionBankError
from .i18n import N_
from .syllabus import Syllabus


class Fit(StrEnum):
    SAME = "same"  # the same content, in the successor chapter
    MOVED = "moved"  # the same content, now in another chapter
    BROADER = "broader"  # no equal node: the node that contains the content


FIT_LABELS = {
    Fit.SAME: N_("相同"),
    Fit.MOVED: N_("移至他章"),
    Fit.BROADER: N_("范围更宽"),
}


class NotInCrosswalk(QuestionBankError):
    """A code the crosswalk has no entry for (`code`)."""

    def __init__(self, code: str):
        super().__init__(f"no crosswalk entry for {code}")
        self.code = code


@dataclass(frozen=True)
class Link:
    code: str  # in the older version
    target: str  # in the newer version
    fit: Fit


@dataclass(frozen=True)
class Crosswalk:
    source: str  # the older version
    target: str  # the newer version
    reviewed_on: str
    reviewed_by: str
    note: str
    links: dict[str, Link]
    duplicates: tuple[str, ...] = ()  # codes the data lists more than once

    def propose(self, codes) -> list[Link]:
        """The proposed link of each code in *codes*, in order.

        :raises NotInCrosswalk: for a code the crosswalk does not know.
        """
        proposal = []
        for code in codes:
            link = self.links.get(code)
            if link is None:
                raise NotInCrosswalk(code)
            proposal.append(link)
        return proposal

    def covers(self, codes) -> bool:
        return all(code in self.links for code in codes)


def relinked(proposal: list[Link]) -> tuple[str, ...]:
    """The new links an item gets from *proposal*: each target once, in order."""
    return tuple(dict.fromkeys(link.target for link in proposal))


def load(source: str = "2018", target: str = "2025") -> Crosswalk:
    """Load the crosswalk from *source* to *target* from the package data."""
    return _load(source, target)


@functools.cache
def _load(source: str, target: str) -> Crosswalk:
    path = (resources.files("question_bank") / "data" / "syllabus"
            / f"crosswalk-{source}-{target}.json")
    duplicates: list[str] = []

    def keep_duplicates(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                duplicates.append(key)
            seen.add(key)
        return dict(pairs)

    data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=keep_duplicates)
    if (data["from"], data["to"]) != (source, target):
        raise ValueError(f"{path.name} maps {data['from']} to {data['to']}")
    links = {code: Link(code, entry["to"], Fit(entry["fit"]))
             for code, entry in data["links"].items()}
    return Crosswalk(source, target, data["reviewed_on"], data["reviewed_by"], data["note"],
                     links, tuple(duplicates))


def validate(crosswalk: Crosswalk, old: Syllabus, new: Syllabus) -> list[str]:
    """Every problem with *crosswalk* between the trees *old* and *new*: a node of *old*
    missing or listed twice, an entry for no node of *old*, a target missing from *new*
    or in another subject. Empty when the crosswalk is sound."""
    problems = [f"{code}: listed more than once" for code in crosswalk.duplicates]
    for code in old.by_code:
        if code not in crosswalk.links:
            problems.append(f"{code}: no entry")
    for code, link in crosswalk.links.items():
        source = old.node(code)
        if source is None:
            problems.append(f"{code}: not a node of {old.version}")
            continue
        target = new.node(link.target)
        if target is None:
            problems.append(f"{code}: target {link.target} is not a node of {new.version}")
        elif target.subject is not source.subject:
            problems.append(f"{code}: target {link.target} is in another subject")
    return problems
