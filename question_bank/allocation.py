"""Largest-remainder allocation: split a count over weighted groups within their limits."""

from collections.abc import Mapping


def allocate(count: int, weights: Mapping[str, float], available: Mapping[str, int]) -> dict:
    """Split *count* over chapters in proportion to *weights*, never above what is available.

    Largest remainder first; what a full chapter cannot take goes to the others, and
    chapters of weight 0 are used only when the weighted ones are full.
    """
    quotas = dict.fromkeys(weights, 0)
    remaining = count
    for use_unweighted in (False, True):
        open_chapters = [c for c in weights if available[c] > quotas[c]
                         and (use_unweighted or weights[c] > 0)]
        while remaining > 0 and open_chapters:
            weight = {c: weights[c] if weights[c] > 0 else 1 for c in open_chapters}
            total = sum(weight.values())
            shares = {c: remaining * weight[c] / total for c in open_chapters}
            granted = 0
            for chapter in open_chapters:
                take = min(int(shares[chapter]), available[chapter] - quotas[chapter])
                quotas[chapter] += take
                granted += take
            remaining -= granted
            for chapter in sorted(open_chapters, key=lambda c: (-(shares[c] % 1), c)):
                if remaining == 0:
                    break
                if quotas[chapter] < available[chapter]:
                    quotas[chapter] += 1
                    remaining -= 1
            open_chapters = [c for c in open_chapters if quotas[c] < available[c]]
    return quotas
