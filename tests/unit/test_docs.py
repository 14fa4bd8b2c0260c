"""The README and the guides in docs/: short README, links that resolve, no process
words, headings unique within each file."""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
SCREENSHOTS = DOCS / "screenshots"
DOC_FILES = [README, *sorted(DOCS.glob("*.md"))]
GUIDES = ("candidates.md", "trainers.md", "administrators.md", "operators.md",
          "architecture.md")

# Inline links and images: [text](target) / ![alt](target "title"); reference
# definitions: [label]: target.
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
PROCESS_WORDS = [
    re.compile(r"\bissues? \d+\b", re.IGNORECASE),
    re.compile(r"[（(]\s*issue", re.IGNORECASE),
    re.compile(r"\bthis session\b", re.IGNORECASE),
]


def _ids(paths):
    return [str(path.relative_to(ROOT)) for path in paths]


def _prose_lines(text: str):
    """(line number, line) outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def _without_code(line: str) -> str:
    return re.sub(r"`[^`]*`", "", line)


def _links(text: str):
    """(line number, target) of every link outside code."""
    for number, line in _prose_lines(text):
        for match in INLINE_LINK.finditer(_without_code(line)):
            yield number, match.group(1)
    prose = "\n".join(line for _, line in _prose_lines(text))
    for match in REFERENCE_LINK.finditer(prose):
        yield 0, match.group(1)


def _is_relative(target: str) -> bool:
    return not (re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("#", "//")))


def test_the_guides_exist():
    missing = [name for name in GUIDES if not (DOCS / name).is_file()]
    assert not missing, f"docs/ lacks {missing}"


def test_readme_is_under_200_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < 200, f"README.md has {len(lines)} lines; move detail into docs/"


def broken_links(path: Path, text: str, screenshots: Path) -> list[str]:
    """Relative links in *text* (a file at *path*) to files that do not exist. Images in
    *screenshots* are produced separately: they are checked only once that folder exists."""
    broken = []
    for number, target in _links(text):
        if not _is_relative(target):
            continue
        file_part = unquote(target.split("#", 1)[0].split("?", 1)[0])
        if not file_part:
            continue
        resolved = (path.parent / file_part).resolve()
        if (resolved.parent == screenshots.resolve() and resolved.suffix == ".png"
                and not screenshots.is_dir()):
            continue
        if not resolved.exists():
            broken.append(f"line {number}: {target}")
    return broken


@pytest.mark.parametrize("path", DOC_FILES, ids=_ids(DOC_FILES))
def test_relative_links_resolve(path):
    broken = broken_links(path, path.read_text(encoding="utf-8"), SCREENSHOTS)
    assert not broken, f"{path.relative_to(ROOT)}: links to missing files: {broken}"


def test_screenshot_links_are_checked_once_the_folder_exists(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "there.md").write_text("", encoding="utf-8")
    guide = docs / "guide.md"
    text = ("![页面 candidate.dashboard](screenshots/candidate.dashboard.png)\n"
            "[a guide](there.md#a-heading) [gone](gone.md) <https://example.com>\n"
            "`[in code](not-a-link.md)`\n"
            "```\n[in a block](not-a-link-either.md)\n```\n")
    screenshots = docs / "screenshots"
    assert broken_links(guide, text, screenshots) == ["line 2: gone.md"]
    screenshots.mkdir()
    assert broken_links(guide, text, screenshots) == [
        "line 1: screenshots/candidate.dashboard.png", "line 2: gone.md"]
    (screenshots / "candidate.dashboard.png").write_bytes(b"\x89PNG")
    assert broken_links(guide, text, screenshots) == ["line 2: gone.md"]


@pytest.mark.parametrize("path", DOC_FILES, ids=_ids(DOC_FILES))
def test_no_process_words(path):
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for pattern in PROCESS_WORDS:
            if pattern.search(line):
                found.append(f"line {number}: {line.strip()}")
    assert not found, f"{path.relative_to(ROOT)}: process words: {found}"


@pytest.mark.parametrize("path", DOC_FILES, ids=_ids(DOC_FILES))
def test_headings_are_unique(path):
    seen = {}
    repeated = []
    for number, line in _prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        heading = match.group(2).strip().lower()
        if heading in seen:
            repeated.append(f"{match.group(2)!r} (lines {seen[heading]} and {number})")
        else:
            seen[heading] = number
    assert not repeated, f"{path.relative_to(ROOT)}: repeated headings: {repeated}"
