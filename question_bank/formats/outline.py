"""Key points and sub-questions as plain lines, for editing subjective items in a text box.

    ## 分析服务对象的需要 | 10
    - 生理与照料需要 | 2.5
    - 社会交往需要 | 3

A line starting with "##" opens a sub-question (prompt | points); a line starting with
"-" is a key point (text | points). Key points of essay and plan-design items are
written without any "##" line.
"""

from decimal import Decimal

from ..i18n import N_
from ..items import KeyPoint, Problem, SubQuestion, parse_points, show_points


def parse(text: str) -> tuple[tuple[SubQuestion, ...], tuple[KeyPoint, ...], list[Problem]]:
    """Read sub-questions (with their key points) and free-standing key points."""
    subs: list[tuple[str, Decimal, list[KeyPoint]]] = []
    loose: list[KeyPoint] = []
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("##"):
            prompt, points = _split(line[2:], number, problems)
            subs.append((prompt, points, []))
        elif line.startswith(("-", "－", "•")):
            text_part, points = _split(line[1:], number, problems)
            (subs[-1][2] if subs else loose).append(KeyPoint(text_part, points))
        else:
            problems.append(Problem("outline", N_("第 %(n)d 行应以 ## 或 - 开头。"), {"n": number}))
    sub_questions = tuple(SubQuestion(p, pts, tuple(kps)) for p, pts, kps in subs)
    return sub_questions, tuple(loose), problems


def _split(body: str, number: int, problems: list[Problem]) -> tuple[str, Decimal]:
    text, bar, points = body.rpartition("|")
    if not bar:
        problems.append(Problem("outline", N_("第 %(n)d 行缺少“| 分值”。"), {"n": number}))
        return body.strip(), Decimal(0)
    try:
        return text.strip(), parse_points(points)
    except ValueError:
        problems.append(Problem("outline", N_("第 %(n)d 行的分值不是数字。"), {"n": number}))
        return text.strip(), Decimal(0)


def write(sub_questions, key_points) -> str:
    """Write sub-questions and key points back as lines."""
    lines = []
    for sub in sub_questions:
        lines.append(f"## {sub.prompt} | {show_points(sub.points)}")
        lines += [f"- {kp.text} | {show_points(kp.points)}" for kp in sub.key_points]
    lines += [f"- {kp.text} | {show_points(kp.points)}" for kp in key_points]
    return "\n".join(lines)
