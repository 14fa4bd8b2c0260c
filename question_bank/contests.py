"""Mock contests (模考大赛): everyone who sat the contest paper in its window, ranked by
score.

Ranks are competition ranks: equal scores share a rank and the next score's rank
counts everyone above it (100, 90, 90, 80 rank 1, 2, 2, 4). A candidate's percentile
is the share of the ranked sitters who scored less than they did, so equal scores
share a percentile too, and the top score of a contest where everyone scored the same
beats nobody.
"""

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Standing:
    rank: int  # 1 for the best score
    below: int  # sitters with a lower score
    sitters: int  # everyone ranked with them

    @property
    def percentile(self) -> float:
        """Percent of the sitters scoring less (0 to below 100)."""
        return 100 * self.below / self.sitters


def standings(scores: Sequence[int]) -> list[Standing]:
    """The standing of each score among *scores*, in their order."""
    order = sorted(range(len(scores)), key=lambda index: -scores[index])
    result: list[Standing | None] = [None] * len(scores)
    total, start = len(scores), 0
    while start < total:
        end = start
        while end < total and scores[order[end]] == scores[order[start]]:
            end += 1
        standing = Standing(rank=start + 1, below=total - end, sitters=total)
        for index in order[start:end]:
            result[index] = standing
        start = end
    return result  # type: ignore[return-value]


def standings_by_group(scores: Sequence[int],
                       groups: Sequence[Hashable]) -> list[Standing | None]:
    """Each score's standing among the scores of its group (a province, say); None for
    a score with no group."""
    members: dict[Hashable, list[int]] = defaultdict(list)
    for index, group in enumerate(groups):
        if group is not None:
            members[group].append(index)
    result: list[Standing | None] = [None] * len(scores)
    for indexes in members.values():
        for index, standing in zip(indexes, standings([scores[i] for i in indexes]),
                                   strict=True):
            result[index] = standing
    return result
