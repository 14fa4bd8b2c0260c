"""File-level outcomes shared by every format: a whole-file refusal, and the caps on
what an uploaded file may make the portal read (RELIABILITY IN-9).

Nothing a file declares about itself is believed. A zip member is inflated in chunks
and counted as it comes, whatever size its header gives, and must end up the size and
checksum the header gives; an XML document is checked while it streams in, before any
tree is built from it; a sheet's rows × columns are counted as its cells are read. The
first cap reached refuses the whole file with a message that names the cap and the part
of the file, so a hostile file costs at most a cap's worth of work and little memory.
"""

import copy
import io
import pyexpat
import xml.etree.ElementTree as ET  # noqa: S405 - parses only what XmlCheck let through
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..errors import QuestionBankError
from ..i18n import N_

MiB = 1024 * 1024
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Limits:
    """Caps on the work one file may cause, counted on what is actually read."""

    member_bytes: int  # bytes inflated from one zip member
    total_bytes: int  # bytes inflated from all the members of one zip
    members: int  # entries in one zip
    xml_elements: int  # elements of one XML document
    xml_depth: int  # nesting depth of one XML document
    sheet_cells: int  # rows × columns of one sheet (CSV, or a worksheet of an XLSX)
    json_depth: int  # nesting depth of a JSON document


# An upload through the portal (MAX_CONTENT_LENGTH 8 MB, at most 5,000 items): a full
# 5,000-item file in any format stays well inside each cap (its sheet is 5,001 rows ×
# 23 columns; the cap allows 50). Checking costs about a microsecond per element or
# cell, so a file over a cap is refused in well under a second.
WEB = Limits(member_bytes=64 * MiB, total_bytes=128 * MiB, members=10_000,
             xml_elements=1_000_000, xml_depth=64, sheet_cells=250_000, json_depth=32)
# `flask bank import` of an operator's file of any size (100,000 items and more).
COMMAND_LINE = Limits(member_bytes=1024 * MiB, total_bytes=2048 * MiB, members=1_000_000,
                      xml_elements=20_000_000, xml_depth=64, sheet_cells=10_000_000,
                      json_depth=32)


class UnreadableFile(QuestionBankError):
    """The file as a whole cannot be read; `message` is a translatable text."""

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def __reduce__(self):
        # Sent from the process that read the file to the one that reports it: the
        # untranslated message and its values, not only the text they made.
        return _unreadable, (type(self), self.message, self.params)


def _unreadable(kind: type, message: str, params: dict) -> UnreadableFile:
    return kind(message, **params)


class MalformedXml(QuestionBankError):
    """Not well-formed XML, or XML with a DTD (the way to entity tricks); each format
    refuses it in its own words."""


def _refusal(in_part: str, in_file: str, part: str | None, **params) -> UnreadableFile:
    if part is None:
        return UnreadableFile(in_file, **params)
    return UnreadableFile(in_part, part=part[-100:], **params)


class Package:
    """A zip archive whose members are read under the caps."""

    def __init__(self, data: bytes, caps: Limits, not_a_zip: str):
        self._caps = caps
        self._not_a_zip = not_a_zip
        self._left = caps.total_bytes
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
        except Exception as error:  # noqa: BLE001 - BadZipFile, NotImplementedError, ...
            raise UnreadableFile(not_a_zip) from error
        if len(self._zip.infolist()) > caps.members:
            self._zip.close()
            raise UnreadableFile(N_("压缩包中的文件超过 %(n)s 个。"), n=f"{caps.members:,}")

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self._zip.close()

    def infolist(self) -> list[zipfile.ZipInfo]:
        return self._zip.infolist()

    @property
    def caps(self) -> Limits:
        return self._caps

    def has(self, name: str) -> bool:
        """True when the archive has a member *name*."""
        try:
            self._zip.getinfo(name)
        except KeyError:
            return False
        return True

    def chunks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """Inflate *info* chunk by chunk, counting every byte against the caps."""
        name = info.filename
        if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED,
                                                               zipfile.ZIP_DEFLATED):
            raise UnreadableFile(N_("压缩包中的 %(part)s 已加密或使用了不支持的压缩方式。"),
                                 part=name[-100:])
        # zipfile stops at the size the header declares (and checks the checksum there):
        # declare more than the cap, so a member that lies comes out whole, to be caught
        # below, or runs into the cap. One read returns at most a chunk.
        probe = copy.copy(info)
        probe.file_size = self._caps.member_bytes + 2 * _CHUNK
        inflated = 0
        try:
            with self._zip.open(probe) as member:
                while chunk := member.read(_CHUNK):
                    inflated += len(chunk)
                    self._left -= len(chunk)
                    if inflated > self._caps.member_bytes:
                        raise UnreadableFile(
                            N_("压缩包中的 %(part)s 解压后超过 %(mb)d MB，文件过大。"),
                            part=name[-100:], mb=self._caps.member_bytes // MiB)
                    if self._left < 0:
                        raise UnreadableFile(N_("文件解压后超过 %(mb)d MB，文件过大。"),
                                             mb=self._caps.total_bytes // MiB)
                    yield chunk
        except UnreadableFile:
            raise
        except zipfile.BadZipFile as error:
            if "CRC" in str(error):  # what came out is not what the header declares
                raise UnreadableFile(_LYING, part=name[-100:]) from error
            raise UnreadableFile(self._not_a_zip) from error
        except Exception as error:  # noqa: BLE001 - zlib.error, EOFError: damaged data
            raise UnreadableFile(self._not_a_zip) from error
        if inflated != info.file_size:
            raise UnreadableFile(_LYING, part=name[-100:])

    def read(self, info: zipfile.ZipInfo) -> bytes:
        return b"".join(self.chunks(info))

    def parse_xml(self, name: str) -> ET.Element:
        """The tree of the XML member *name*, read under the caps; KeyError when there is
        no such member, MalformedXml when it is not well-formed or has a DTD."""
        return parse_xml(self.chunks(self._zip.getinfo(name)), self._caps, part=name)

    def read_xml(self, name: str) -> tuple[ET.Element, bytes]:
        """The tree of the XML member *name* and its bytes, as parse_xml() reads it."""
        data = self.read(self._zip.getinfo(name))
        return parse_xml(slices(data), self._caps, part=name), data


_LYING = N_("压缩包中的 %(part)s 与压缩包头部记录的大小或校验和不符，文件已损坏或被改动过。")


def too_many_elements(caps: Limits, part: str | None) -> UnreadableFile:
    return _refusal(N_("%(part)s 中的 XML 元素超过 %(n)s 个。"),
                    N_("文件中的 XML 元素超过 %(n)s 个。"), part, n=f"{caps.xml_elements:,}")


def too_deep(caps: Limits, part: str | None) -> UnreadableFile:
    return _refusal(N_("%(part)s 中的 XML 嵌套超过 %(n)d 层。"),
                    N_("文件中的 XML 嵌套超过 %(n)d 层。"), part, n=caps.xml_depth)


def too_many_cells(caps: Limits, part: str | None) -> UnreadableFile:
    return _refusal(N_("%(part)s 中的表格超过 %(n)s 个单元格（行数 × 列数）。"),
                    N_("表格超过 %(n)s 个单元格（行数 × 列数）。"), part,
                    n=f"{caps.sheet_cells:,}")


class XmlCheck:
    """Check an XML document fed in chunks: refuse a DTD, and stop at the element and
    depth caps while it streams in, with nothing built from it yet.

    *handlers* replaces the counting with a format's own (start, end) element handlers,
    which must keep the caps themselves; they run once per element, so they are
    closures over local counts rather than methods."""

    def __init__(self, caps: Limits, part: str | None, handlers=None):
        self._parser = pyexpat.ParserCreate()
        self._parser.StartDoctypeDeclHandler = _refuse_dtd
        self._parser.EntityDeclHandler = _refuse_dtd
        start, end = handlers or _counting(caps, part)
        self._parser.StartElementHandler = start
        self._parser.EndElementHandler = end

    def feed(self, chunk: bytes) -> None:
        self._parse(chunk, False)

    def close(self) -> None:
        self._parse(b"", True)

    def _parse(self, chunk: bytes, final: bool) -> None:
        try:
            self._parser.Parse(chunk, final)
        # LookupError, ValueError: an encoding the parser does not know, or a multi-byte
        # one it cannot read.
        except (pyexpat.ExpatError, LookupError, ValueError) as error:
            raise MalformedXml(str(error)) from error


def _refuse_dtd(*_args):
    raise MalformedXml("DTD")


def _counting(caps: Limits, part: str | None):
    elements = depth = 0
    most, deepest = caps.xml_elements, caps.xml_depth

    def start(_name, _attrs):
        nonlocal elements, depth
        elements += 1
        depth += 1
        if elements > most:
            raise too_many_elements(caps, part)
        if depth > deepest:
            raise too_deep(caps, part)

    def end(_name):
        nonlocal depth
        depth -= 1

    return start, end


def slices(data: bytes) -> Iterator[memoryview]:
    """*data* in chunks, so a parser fed from memory holds no second copy of it."""
    view = memoryview(data)
    return (view[start:start + _CHUNK] for start in range(0, len(view), _CHUNK))


def parse_xml(chunks: Iterable[bytes], caps: Limits, part: str | None = None) -> ET.Element:
    """Check an XML document against the caps as it streams in, then build its tree.
    *part* names it in a refusal.

    The check refuses any DTD, and without one a document can declare no entity and
    refer to nothing outside itself: the tree is then built from the same bytes by
    ElementTree's C parser (defusedxml's refuses the same, with a Python call per
    element: three times as long for a bank of 100,000 questions)."""
    check, kept = XmlCheck(caps, part), []
    for chunk in chunks:
        check.feed(chunk)
        kept.append(chunk)
    check.close()
    parser = ET.XMLParser(target=ET.TreeBuilder())  # noqa: S314  # nosec B314 - checked DTD-free above
    try:
        for chunk in kept:
            parser.feed(chunk)
        return parser.close()
    except (ET.ParseError, LookupError, ValueError) as error:  # as in XmlCheck._parse
        raise MalformedXml(str(error)) from error


class SheetExtent:
    """Count a CSV sheet's rows × columns row by row, and stop at the cap.

    Readers lay a sheet out as a full grid, so the area counts, not the cells present
    (xlsx_format counts a worksheet's the same way, by its cell references)."""

    def __init__(self, caps: Limits):
        self.caps = caps
        self.rows = self.columns = self.cells = 0

    def add_row(self, columns: int) -> None:
        """Count the next row, of *columns* cells; an empty row still takes one."""
        self.rows += 1
        self.columns = max(self.columns, columns, 1)
        self.cells += max(columns, 1)
        if self.rows * self.columns > self.caps.sheet_cells or \
                self.cells > self.caps.sheet_cells:
            raise too_many_cells(self.caps, None)


def check_json_depth(document, caps: Limits) -> None:
    """Refuse a JSON document nested deeper than the cap."""
    stack = [(document, 1)] if isinstance(document, dict | list) else []
    while stack:
        value, depth = stack.pop()
        if depth > caps.json_depth:
            raise json_too_deep(caps)
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))


def json_too_deep(caps: Limits) -> UnreadableFile:
    return UnreadableFile(N_("JSON 文件的嵌套超过 %(n)d 层。"), n=caps.json_depth)
