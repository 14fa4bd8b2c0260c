"""Charts drawn on the server as SVG geometry (no chart library, nothing fetched): the
template draws the shapes, titles them for screen readers, and a table beside each
chart holds the same numbers."""

from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 640, 220, 36


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the bin, e.g. "60–61"
    count: int


@dataclass(frozen=True)
class Histogram:
    bars: tuple[Bar, ...]
    max_count: int
    ticks: tuple[tuple[float, str], ...]  # x position, label
    line_x: float | None  # the pass line
    width: int = WIDTH
    height: int = HEIGHT
    pad: int = PAD


def histogram(edges_halves: list[int], counts: list[int], *, line_halves: int | None,
              per_bar: int = 2) -> Histogram:
    """Bars of *counts* over [edges) in half-points, merged *per_bar* bins at a time
    (one point per bar by default), with the pass line marked."""
    merged, labels = [], []
    for start in range(0, len(counts), per_bar):
        merged.append(sum(counts[start:start + per_bar]))
        low, high = edges_halves[start], edges_halves[min(start + per_bar, len(counts))]
        labels.append(f"{low / 2:g}–{high / 2:g}")
    top = max(merged, default=0) or 1
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    step = inner_w / max(1, len(merged))
    bars = tuple(Bar(PAD + index * step, PAD + inner_h * (1 - count / top), max(1, step - 1),
                     inner_h * count / top, label, count)
                 for index, (count, label) in enumerate(zip(merged, labels, strict=True)))
    low, high = edges_halves[0], edges_halves[-1]
    span = max(1, high - low)
    ticks = tuple((PAD + inner_w * (value - low) / span, f"{value / 2:g}")
                  for value in range(low, high + 1, max(2, span // 10 // 2 * 2 or 2)))
    line_x = None if line_halves is None else PAD + inner_w * (line_halves - low) / span
    return Histogram(bars, top, ticks, line_x)


@dataclass(frozen=True)
class Curve:
    letter: str
    is_key: bool
    points: str  # SVG polyline points
    values: tuple[float, ...]


@dataclass(frozen=True)
class OptionCurves:
    curves: tuple[Curve, ...]
    xs: tuple[float, ...]  # quintile positions
    width: int = 360
    height: int = 200
    pad: int = 32


def option_curves(options: list[dict]) -> OptionCurves | None:
    """Each option's share chosen in the five score quintiles (lowest first), as lines
    from 0 to 100 %: the key should rise, a good distractor fall."""
    width, height, pad = 360, 200, 32
    xs = tuple(pad + (width - 2 * pad) * index / 4 for index in range(5))
    curves = []
    for option in options:
        shares = option.get("chosen_by_quintile")
        if not shares:
            continue
        ys = [pad + (height - 2 * pad) * (1 - share) for share in shares]
        curves.append(Curve(option["letter"], option["is_key"],
                            " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True)),
                            tuple(shares)))
    return OptionCurves(tuple(curves), xs) if curves else None
