"""Question text written as HTML (Moodle's default, QTI's XHTML) as the portal's plain text.

The portal shows items as plain text with line breaks, so the conversion keeps what a
reader of the HTML sees as words and lines, and reports what plain text cannot show:

- Blocks (p, div, headings, blockquote, table rows, ...) begin and end a line; <br> is a
  line break, and so is <hr>.
- Lists: each <li> on a line of its own, "1. " … in an <ol> (counting from its start
  attribute), "• " in a <ul>; a nested list is indented two spaces per level.
- Emphasis and other inline markup (b, strong, i, em, u, span, font, code, a, ...) keep
  their text and lose the markup. A link keeps its text; that its address was dropped
  is reported (Converted.dropped_links) so the caller can warn.
- Entities are decoded. &nbsp; is a space that is kept as browsers keep it (the blank
  "（&nbsp; &nbsp;）" stays three spaces wide). A run of other white space is one space, except a
  line break in the source between two Chinese characters, which is nothing (as
  browsers show it: CSS Text, segment breaks between East Asian characters). Every line
  is trimmed, the text has no blank lines at its start or end and never two in a row.
- What plain text cannot show is listed in Converted.unshowable, and the caller refuses
  the question rather than drop it: images, tables, audio/video and embedded objects,
  math (MathML, and TeX between $$…$$, \\(…\\) or \\[…\\] as Moodle's filters render it),
  svg/canvas drawings, sub- and superscripts (m² is not m2), scripts and form fields.
  The text also says where it was — 〔图片：alt text〕, 〔表格〕 (then the cells, one a
  line), 〔公式〕, 〔图形〕, 〔媒体〕, 〔脚本〕, 〔表单〕 — so a question handed back to be
  fixed shows what is missing, and is never imported without it unnoticed.

With preserve=True (text this portal wrote itself) nothing is collapsed or trimmed: only
<br> and the start of a block after text make line breaks.

HTML is parsed (html.parser, or an ElementTree already parsed safely), never stripped
with patterns. Text whose only markup is plain paragraphs, breaks and emphasis (most
question text) is split at its tags by one exact pattern and given to the same builder,
with the same calls the parser would make: the parser is slow, and a bank of 100,000
questions holds over half a million such texts.
"""

import re
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser

BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "caption", "center", "dd", "details",
    "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "h1", "h2",
    "h3", "h4", "h5", "h6", "header", "li", "main", "nav", "ol", "p", "pre", "section",
    "summary", "ul", "tr", "td", "th", "prompt", "hr",
})
UNSHOWABLE = frozenset({
    "img", "image", "table", "audio", "video", "source", "track", "object", "embed",
    "iframe", "frame", "math", "svg", "canvas", "map", "area", "sub", "sup", "script",
    "noscript", "form", "input", "select", "textarea", "button", "applet",
})
_IGNORED = frozenset({"style", "head", "title", "template"})
# What stands in the text for what it cannot show; the content of these is left out.
_PLACEHOLDERS = {
    "math": "〔公式〕", "svg": "〔图形〕", "canvas": "〔图形〕", "audio": "〔媒体〕",
    "video": "〔媒体〕", "object": "〔媒体〕", "embed": "〔媒体〕", "iframe": "〔媒体〕",
    "frame": "〔媒体〕", "applet": "〔媒体〕", "script": "〔脚本〕", "noscript": "〔脚本〕",
    "form": "〔表单〕", "input": "〔表单〕", "select": "〔表单〕", "textarea": "〔表单〕",
    "button": "〔表单〕",
}
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "source", "track",
                   "embed", "col", "wbr", "param", "base"})
MATHML = "http://www.w3.org/1998/Math/MathML"
_TEX = re.compile(r"\$\$.+?\$\$|\\\(.+?\\\)|\\\[.+?\\\]", re.DOTALL)

# Marks used while building the text of foreign HTML (private-use characters, which
# are removed from the input first): white space that held a line break, a soft line
# break (a block boundary) and a space that is not collapsed (indentation, <pre>).
_SEGMENT, _SOFT, _KEPT, _NBSP = "\ue000", "\ue001", "\ue002", "\ue003"
_PRIVATE = re.compile("[\ue000-\ue003]")
_SPACES = re.compile(r"[ \t\n\r\f]+")
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"


@dataclass(frozen=True)
class Converted:
    text: str
    unshowable: tuple[str, ...] = ()  # tag names (or "TeX") plain text cannot show
    dropped_links: bool = False


class _Builder:
    """Receives start tags, end tags and text, in document order, and builds the text."""

    def __init__(self, preserve: bool):
        self.preserve = preserve
        self.out: list[str] = []
        self.lists: list[list] = []  # [ordered, next number]
        self.found: list[str] = []
        self.links = False
        self.ignored = 0  # depth inside <style> and the like
        self.hidden: list[str] = []  # the elements whose content a placeholder stands for
        self.pre = 0

    def start(self, tag: str, attrs: dict) -> None:
        tag = tag.lower()
        if tag in _IGNORED:
            self.ignored += 1
            return
        if self.hidden:
            if tag == self.hidden[-1] and tag not in _VOID:
                self.hidden.append(tag)
            return
        if tag in UNSHOWABLE and tag not in self.found:
            self.found.append(tag)
        if tag in ("img", "image"):
            alt = " ".join((attrs.get("alt") or "").split())
            self.out.append(f"〔图片：{alt}〕" if alt else "〔图片〕")
        elif tag == "table":
            self._soft_break()
            self.out.append("〔表格〕")
        elif tag in _PLACEHOLDERS:
            if not self.out or not "".join(self.out[-1:]).endswith(_PLACEHOLDERS[tag]):
                self.out.append(_PLACEHOLDERS[tag])
            if tag not in _VOID:
                self.hidden.append(tag)
            return
        if tag == "a" and attrs.get("href"):
            self.links = True
        if tag == "br":
            self.out.append("\n")
            return
        if tag in BLOCKS:
            self._soft_break()
        if tag == "pre":
            self.pre += 1
        elif tag in ("ol", "ul"):
            start = attrs.get("start") or "1"
            self.lists.append([tag == "ol", int(start) if start.isdigit() else 1])
        elif tag == "li" and not self.preserve:
            ordered, number = self.lists[-1] if self.lists else (False, 1)
            indent = _KEPT * 2 * max(len(self.lists) - 1, 0)
            self.out.append(f"{indent}{number}. " if ordered else f"{indent}• ")
            if self.lists:
                self.lists[-1][1] += 1

    def end(self, tag: str) -> None:
        tag = tag.lower()
        if tag in _IGNORED:
            self.ignored = max(self.ignored - 1, 0)
            return
        if self.hidden:
            if tag == self.hidden[-1]:
                self.hidden.pop()
            return
        if tag == "pre":
            self.pre = max(self.pre - 1, 0)
        elif tag in ("ol", "ul") and self.lists:
            self.lists.pop()
        if tag in BLOCKS and tag != "hr" and not self.preserve:
            self._soft_break()

    def data(self, text: str | None) -> None:
        if not text or self.ignored or self.hidden:
            return
        if self.preserve:
            self.out.append(text)
        elif self.pre:
            text = _PRIVATE.sub("", text).replace("\r\n", "\n")
            self.out.append(text.replace(" ", _KEPT).replace("\t", _KEPT * 4))
        else:
            text = _PRIVATE.sub("", text).replace("\xa0", _NBSP)
            # Only a run holding a line break needs looking at (it may vanish between
            # Chinese characters); any other run is one space.
            self.out.append(_SPACES.sub(_collapse if "\n" in text or "\r" in text else " ",
                                        text))

    def _soft_break(self) -> None:
        if self.preserve:
            if self.out and not "".join(self.out[-1:]).endswith("\n"):
                self.out.append("\n")
        else:
            self.out.append(_SOFT)

    def result(self) -> Converted:
        text = "".join(self.out)
        found = list(self.found)
        if not self.preserve:
            text = _tidy(text)
            if _TEX.search(text):
                found.append("TeX")
        return Converted(text, tuple(found), self.links)


def _collapse(match: re.Match) -> str:
    return _SEGMENT if "\n" in match.group() or "\r" in match.group() else " "


# Literal replacements only (no Python call per match): _tidy runs on every text.
_RUN_WITH_SEGMENT = re.compile(f" *{_SEGMENT}[ {_SEGMENT}]*")
_SPACE_RUN = re.compile(" {2,}")
_AROUND_NEWLINE = re.compile(f"[ {_SEGMENT}]*\n[ {_SEGMENT}]*")
_AROUND_SOFT = re.compile(f"[ {_SEGMENT}]*{_SOFT}[ {_SEGMENT}]*")
_CJK_SEGMENT = re.compile(f"(?<=[{_CJK}]){_SEGMENT}(?=[{_CJK}])")
_SOFTS = re.compile(f"{_SOFT}+")
_BLANK_LINES = re.compile(r"\n{3,}")


_MULTILINE = re.compile(f"[\n{_SEGMENT}{_KEPT}]")


def _tidy(text: str) -> str:
    core = text.strip(f"{_SOFT}{_SEGMENT} ")
    if _SOFT not in core and not _MULTILINE.search(core):
        # One block of one line (most question text): what the steps below come to.
        return _SPACE_RUN.sub(" ", core).strip(f" {_NBSP}").replace(_NBSP, " ")
    return _tidy_lines(text)


def _tidy_lines(text: str) -> str:
    # A run of spaces and segment breaks is one segment break if it holds one, else one
    # space; none is kept beside a line break or a block boundary.
    text = _SPACE_RUN.sub(" ", _RUN_WITH_SEGMENT.sub(_SEGMENT, text))
    text = _AROUND_SOFT.sub(_SOFT, _AROUND_NEWLINE.sub("\n", text))
    text = _CJK_SEGMENT.sub("", text).replace(_SEGMENT, " ")
    text = _SOFTS.sub(_SOFT, text).replace("\n" + _SOFT, "\n")
    text = text.removeprefix(_SOFT).replace(_SOFT, "\n")
    lines = [line.strip(f" {_NBSP}").replace(_KEPT, " ").replace(_NBSP, " ")
             for line in text.split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines))
    return text.strip("\n")


class _Parser(HTMLParser):
    def __init__(self, builder: _Builder):
        super().__init__(convert_charrefs=True)
        self.builder = builder

    def handle_starttag(self, tag, attrs):
        self.builder.start(tag, {name: value or "" for name, value in attrs})
        if tag in _VOID:
            self.builder.end(tag)

    def handle_startendtag(self, tag, attrs):
        self.builder.start(tag, {name: value or "" for name, value in attrs})
        self.builder.end(tag)

    def handle_endtag(self, tag):
        if tag not in _VOID:
            self.builder.end(tag)

    def handle_data(self, data):
        self.builder.data(data)


# The markup most question text holds (Moodle's editor writes <p dir="ltr" style=...>,
# <br>, <strong>, <span>): tags whose attributes the conversion never reads.
_PLAIN_TAGS = frozenset({"p", "div", "br", "span", "strong", "b", "em", "i", "u", "s",
                         "strike", "font", "small", "big", "code", "h1", "h2", "h3", "h4",
                         "h5", "h6", "blockquote", "center"})
_ATTRIBUTE = r"""[A-Za-z_:][-A-Za-z0-9_:.]*(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>=`]+))?"""
# A text, a tag written plainly, or a "<" that begins anything else.
_PLAIN_PART = re.compile(
    rf"([^<]+)|<(/?)([A-Za-z][A-Za-z0-9]*)((?:\s+{_ATTRIBUTE})*)\s*(/?)>|<")


def _plain_markup(html: str):
    """The tags and texts of *html* in order, as (tag, is_end, is_empty) or a text,
    when every "<" in it opens one of _PLAIN_TAGS written plainly; else None, and the
    HTML parser reads it (comments, other tags, unusual attributes, broken markup)."""
    parts = []
    for match in _PLAIN_PART.finditer(html):
        text, end, name, attributes, empty = match.groups()
        if text is not None:
            parts.append(text)
            continue
        if name is None or name.lower() not in _PLAIN_TAGS or (end and (attributes or empty)):
            return None
        parts.append((name.lower(), bool(end), bool(empty)))
    return parts


# One paragraph of one line of text with no markup inside (Moodle's editor writes
# <p dir="ltr" style="text-align: left;">…</p> around every text): see _one_line().
_ONE_PARAGRAPH = re.compile(
    rf"[ \t\r\n\f]*<(p|div)((?:\s+{_ATTRIBUTE})*)\s*>([^<\n\r]*)</\1>[ \t\r\n\f]*",
    re.IGNORECASE)


def _one_line(html: str) -> Converted | None:
    """What the builder makes of a single paragraph holding one line of text, without
    building it (the same steps: spaces collapsed, &nbsp; kept inside, the line
    trimmed); None for anything else."""
    match = _ONE_PARAGRAPH.fullmatch(html)
    if match is None:
        return None
    text = match.group(3)
    if "&" in text:
        # &nbsp; (in nearly every such text) without unescape()'s Python call per entity:
        # its pattern matches every "&nbsp;" too, as nothing it matches ends inside one.
        text = text.replace("&nbsp;", "\xa0")
        if "&" in text:
            text = unescape(text)
    if "\n" in text or "\r" in text or _PRIVATE.search(text):
        return None  # an entity made a line break, or a mark of the builder's own
    text = _SPACES.sub(" ", text.replace("\xa0", _NBSP))
    text = text.strip(f" {_NBSP}").replace(_NBSP, " ")
    return Converted(text, ("TeX",) if _TEX.search(text) else ())


def html_to_text(html: str, *, preserve: bool = False) -> Converted:
    """The plain text of an HTML fragment, and what in it plain text cannot show."""
    if not preserve:
        converted = _one_line(html)
        if converted is not None:
            return converted
    builder = _Builder(preserve)
    parts = _plain_markup(html)
    if parts is None:
        parser = _Parser(builder)
        parser.feed(html)
        parser.close()
        return builder.result()
    # The same calls the parser would make (html.parser with convert_charrefs), without
    # its per-character work: most question text is only this.
    for part in parts:
        if isinstance(part, str):
            if part:
                builder.data(unescape(part))
        elif part[1]:
            if part[0] not in _VOID:
                builder.end(part[0])
        else:
            builder.start(part[0], {})
            if part[2] or part[0] in _VOID:
                builder.end(part[0])
    return builder.result()


def plain_text(text: str) -> Converted:
    """Foreign plain text: lines trimmed, no blank lines at either end; TeX reported."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return Converted(text, ("TeX",) if _TEX.search(text) else ())


def local_name(tag) -> str:
    """An ElementTree tag without its namespace ("" for comments and the like)."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def element_to_text(element, *, preserve: bool = False, skip=None,
                    include_self: bool = False) -> Converted:
    """The plain text of an element's content (XHTML in any namespace, as QTI writes it).

    *skip(element)* may return True to leave an element's own content out (its tail
    still counts); MathML elements are reported as math."""
    builder = _Builder(preserve)

    def walk(node, is_root: bool) -> None:
        name = local_name(node.tag)
        if not is_root or include_self:
            if isinstance(node.tag, str) and node.tag.startswith(f"{{{MATHML}}}"):
                name = "math"
            builder.start(name, dict(node.attrib))
        builder.data(node.text)
        for child in node:
            if not (skip and skip(child)):
                walk(child, False)
            builder.data(child.tail)
        if not is_root or include_self:
            builder.end(name)

    walk(element, True)
    return builder.result()
