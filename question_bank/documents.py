"""Registration evidence: what a file really is, and whether it may be attached.

A candidate attaches documents to a registration (degree certificate, proof of
employment, certificates held: PDF or image) and one standard ID photo. Everything here
judges the bytes alone, never the file name or the type the browser declared: a file is
a PDF, a JPEG or a PNG by its content, and an image counts only once Pillow has decoded
all of it. Refused: a PDF with script or launch actions (searched for in every byte of
the file, with names spelt in #xx escapes read as such, and inside deflated object
streams), a PDF whose object streams cannot be unpacked (what cannot be inspected is not
trusted), an image whose header claims more pixels than `MAX_PIXELS` (Pillow's own
decompression-bomb guard answers first for the largest). The PDF search is a filter, not
a PDF parser: pages that show evidence still treat every file as untrusted. The checks
return `Problem`s, the same translatable sentences the item rules use, so a page and an
import refuse with the same words; they never raise.

The photo rules (size, format, white background) are data, `data/photo_rules.json`,
with their source.
"""

import functools
import io
import json
import re
import zlib
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

from PIL import Image, ImageChops, ImageOps, UnidentifiedImageError

from .i18n import N_
from .items import Problem

KiB = 1024
MiB = 1024 * KiB
# A scan of an A4 page at 600 dpi is 35 million pixels, a 50-megapixel phone photo 50
# million: anything larger is refused before it is decoded (a decoded RGB image takes
# three bytes a pixel).
MAX_PIXELS = 64_000_000
# JPEGs larger than this are decoded at a reduced scale (libjpeg's DCT scaling): every
# byte is still read, so a truncated or corrupt file fails, in a fraction of the memory.
_DECODE_SIDE = 2048

# PDF: the header at the very start (no leading junk, which would make a polyglot);
# "%%EOF" within the last 1024 bytes, the tolerance PDF readers allow for trailing bytes.
_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d")
_PDF_EOF_WINDOW = 1024
_DELIMITERS = rb"\x00\t\n\x0c\r ()<>\[\]{}/%"
# White space and comments between tokens (a comment runs to the end of its line: asking
# for that line end keeps runs of "%" from being split in exponentially many ways).
_SPACE = rb"(?:[\x00\t\n\x0c\r ]|%[^\r\n]*[\r\n])"
_GAP = _SPACE + rb"*"
_REFERENCE = rb"\d+" + _SPACE + rb"+\d+" + _SPACE + rb"+R"  # "6 0 R"
# Actions that run code in the reader or start another program, as they must be
# written to work: an action of type /JavaScript or /Launch, a /JS entry holding a
# script (a string or a reference to a stream), the document's /JavaScript name tree.
# Asking for the value after the name keeps random bytes of images from matching.
_ACTIVE_PDF_CONTENT = re.compile(
    rb"/S" + _GAP + rb"/(?:JavaScript|Launch)(?![^" + _DELIMITERS + rb"])"
    rb"|/JS" + _GAP + rb"(?:[(<]|" + _REFERENCE + rb")"
    rb"|/JavaScript" + _GAP + rb"(?:<<|\[|" + _REFERENCE + rb")")
# Since PDF 1.2 a name may spell any character as #xx: /J#61vaScript is /JavaScript.
_ESCAPED_NAME = re.compile(rb"/[^" + _DELIMITERS + rb"]*#[0-9A-Fa-f]{2}[^" + _DELIMITERS + rb"]*")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_STREAM = re.compile(rb"\bstream(?:\r\n|\n|\r)")
# An object stream names its type, or at least gives the offset of its first object
# (an outline's /First is a reference instead).
_PDF_OBJECT_STREAM = re.compile(rb"/ObjStm\b|/First" + _GAP + rb"\d+(?!\d)(?!" + _SPACE
                                + rb"+\d+" + _SPACE + rb"+R)")
_PDF_FILTER = re.compile(rb"/Filter" + _GAP + rb"(\[?)" + _GAP + rb"/(FlateDecode|Fl)\b"
                         + _GAP + rb"(\]?)")
# How far before its "stream" keyword an object stream's dictionary is looked for.
_PDF_DICTIONARY_WINDOW = 64 * KiB
# Object streams of a PDF are unpacked to look inside them, at most this much in all.
_PDF_UNPACK_LIMIT = 64 * MiB

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_EXIF_ORIENTATION = 0x0112
_QUARTER_TURNS = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height


class DocumentKind(StrEnum):
    PDF = "pdf"
    JPEG = "jpeg"
    PNG = "png"

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self]

    @property
    def extension(self) -> str:
        return {"jpeg": "jpg"}.get(self.value, self.value)


_CONTENT_TYPES = {
    DocumentKind.PDF: "application/pdf",
    DocumentKind.JPEG: "image/jpeg",
    DocumentKind.PNG: "image/png",
}

_UNKNOWN = N_("文件应为完整的 PDF、JPG 或 PNG 文件。")
_ACTIVE_PDF = N_("PDF 文件不能含有脚本或启动其他程序的动作。")
_TOO_MANY_PIXELS = N_("图片过大：不能超过 %(megapixels)d 百万像素。")
_WRONG_SIZE = N_("照片尺寸应为 %(width)d×%(height)d 像素，当前为 %(got_width)d×%(got_height)d。")


# What a file is -------------------------------------------------------------------------

def sniff(data: bytes) -> DocumentKind | None:
    """Return what *data* is by its content (PDF, JPEG or PNG), or None for anything else,
    a damaged file, or a PDF with script or launch actions."""
    kind, _ = _inspect(data)
    return kind


def _inspect(data: bytes) -> tuple[DocumentKind | None, str | None]:
    """The kind, or None and the sentence that says why not."""
    if _PDF_HEADER.match(data):
        if b"%%EOF" not in data[-_PDF_EOF_WINDOW:]:
            return None, _UNKNOWN
        return (DocumentKind.PDF, None) if _pdf_is_passive(data) else (None, _ACTIVE_PDF)
    if data.startswith(_JPEG_MAGIC):
        kind = DocumentKind.JPEG
    elif data.startswith(_PNG_MAGIC):
        kind = DocumentKind.PNG
    else:
        return None, _UNKNOWN
    image, problem = _decode(data, kind)
    return (kind, None) if image is not None else (None, problem)


def _pdf_is_passive(data: bytes) -> bool:
    """No script or launch action anywhere in the file (bytes of images included: an
    object hidden there is found as a reader that scans for objects would find it), nor
    in any object stream; an object stream that cannot be unpacked (encrypted, another
    filter or a predictor, too large) counts as active, since what it holds cannot be
    seen. A filter, not a PDF parser: pages that show evidence still treat it as
    untrusted."""
    if _ACTIVE_PDF_CONTENT.search(_unescape_names(data)):
        return False
    budget, previous = _PDF_UNPACK_LIMIT, 0
    for match in _PDF_STREAM.finditer(data):
        # Its dictionary lies between the previous stream keyword and this one.
        dictionary = _unescape_names(
            data[max(previous, match.start() - _PDF_DICTIONARY_WINDOW):match.start()])
        previous = match.end()
        if not _PDF_OBJECT_STREAM.search(dictionary) or b"/Filter" not in dictionary:
            continue  # not an object stream, or one in plain text (searched above)
        body = memoryview(data)[match.end():]
        unpacked = _inflate(body, budget) if _only_deflated(dictionary) else None
        if unpacked is None or _ACTIVE_PDF_CONTENT.search(_unescape_names(unpacked)):
            return False
        budget -= len(unpacked)
    return True


def _only_deflated(dictionary: bytes) -> bool:
    """Deflated and nothing else: after a second filter or a predictor, inflating would
    leave the objects still encoded."""
    filters = _PDF_FILTER.findall(dictionary)
    return (len(filters) == 1 and bool(filters[0][0]) == bool(filters[0][2])
            and b"/Predictor" not in dictionary)


def _unescape_names(text: bytes) -> bytes:
    if b"#" not in text:
        return text
    return _ESCAPED_NAME.sub(
        lambda name: _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), name.group()),
        text)


def _inflate(body, limit: int) -> bytes | None:
    """The deflated data at the start of *body* (zlib stops at its end), or None when it
    is not deflated data or unpacks to more than *limit* bytes."""
    unpacker = zlib.decompressobj()
    try:
        unpacked = unpacker.decompress(body, limit)
    except zlib.error:
        return None
    if unpacker.unconsumed_tail or not unpacker.eof:
        return None
    return unpacked


def _decode(data: bytes, kind: DocumentKind) -> tuple[Image.Image | None, str | None]:
    """Decode the whole image, or say why it cannot be: a damaged or truncated file, or
    more pixels than MAX_PIXELS. Only the plugin of the sniffed kind may open it (never
    one that hands the file to another program)."""
    image_format = kind.name
    if not _is_complete(data, kind):
        return None, _UNKNOWN
    try:
        with Image.open(io.BytesIO(data), formats=[image_format]) as image:
            if image.width * image.height > MAX_PIXELS:
                return None, _TOO_MANY_PIXELS
            image.verify()  # the structure and, for PNG, every chunk's checksum
        image = Image.open(io.BytesIO(data), formats=[image_format])
        if kind is DocumentKind.JPEG and max(image.size) > _DECODE_SIDE:
            image.draft("RGB", (_DECODE_SIDE, _DECODE_SIDE))
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # The warning is an exception only where warnings are errors (the tests); else
        # Pillow only warns, and the MAX_PIXELS check above refuses the file.
        return None, _TOO_MANY_PIXELS
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        return None, _UNKNOWN
    return image, None


def _is_complete(data: bytes, kind: DocumentKind) -> bool:
    """Whether the image runs to its end marker. Pillow alone cannot say: WeasyPrint,
    which the portal loads for certificates, sets ImageFile.LOAD_TRUNCATED_IMAGES for the
    whole process, and Pillow then decodes a cut-off file without complaint.

    JPEG: an end-of-image marker after the last start-of-scan (stuffed scan data never
    holds one, and an EXIF thumbnail's markers come before the main image's scan).
    PNG: the IEND chunk after the last image data chunk."""
    if kind is DocumentKind.JPEG:
        return data.rfind(b"\xff\xd9") > data.rfind(b"\xff\xda") > 0
    return data.rfind(b"IEND") > data.rfind(b"IDAT") > 0


def _size_text(size: int) -> str:
    if size >= MiB and size % MiB == 0:
        return f"{size // MiB} MB"
    if size >= MiB:
        return f"{size / MiB:.1f} MB"
    return f"{(size + KiB - 1) // KiB} KB" if size % KiB else f"{size // KiB} KB"


# Documents ------------------------------------------------------------------------------

def check_document(data: bytes, max_bytes: int) -> list[Problem]:
    """Return why *data* cannot be attached as a document (a complete PDF, JPEG or PNG of
    at most *max_bytes*); an empty list when it can."""
    if not data:
        return [Problem("document", N_("文件是空的。"))]
    if len(data) > max_bytes:
        # Refused before it is parsed: the size alone decides.
        return [Problem("document", N_("文件不能超过 %(limit)s。"),
                        {"limit": _size_text(max_bytes)})]
    kind, reason = _inspect(data)
    if kind is None:
        params = {"megapixels": MAX_PIXELS // 1_000_000} if reason == _TOO_MANY_PIXELS else {}
        return [Problem("document", reason or _UNKNOWN, params)]
    return []


# The ID photo ---------------------------------------------------------------------------

@dataclass(frozen=True)
class BackgroundRules:
    """Where the background is looked at, and how light it must be. A pixel's level is
    its darkest channel (0–255), so only white is light in all three: pale blue is not."""

    top_band: float  # share of the height, from the top edge
    side_band: float  # share of the width, at each side
    side_depth: float  # share of the height the side bands reach down (then shoulders)
    light_level: int  # a pixel at or above this level is light
    min_light_share: float  # share of the band's pixels that must be light
    min_mean_level: int  # the band's average level


@dataclass(frozen=True)
class PhotoRules:
    kind: DocumentKind
    width: int
    height: int
    min_bytes: int
    max_bytes: int
    colour_mode: str
    background: BackgroundRules


@functools.cache
def photo_rules() -> PhotoRules:
    """The registration photo rules of the national personnel-exam platform."""
    path = resources.files("question_bank") / "data" / "photo_rules.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return PhotoRules(
        kind=DocumentKind(data["format"].lower()),
        width=int(data["width"]), height=int(data["height"]),
        min_bytes=int(data["min_bytes"]), max_bytes=int(data["max_bytes"]),
        colour_mode=data["colour_mode"],
        background=BackgroundRules(**data["background"]),
    )


def check_photo(data: bytes, rules: PhotoRules | None = None) -> list[Problem]:
    """Return every rule the ID photo *data* breaks (default: `photo_rules()`); an empty
    list when it may be used."""
    rules = rules or photo_rules()
    problems = []
    if not rules.min_bytes <= len(data) <= rules.max_bytes:
        problems.append(Problem(
            "photo", N_("照片文件大小应在 %(min)s 到 %(max)s 之间，当前为 %(size)s。"),
            {"min": _size_text(rules.min_bytes), "max": _size_text(rules.max_bytes),
             "size": _size_text(len(data))}))
        if len(data) > rules.max_bytes:
            return problems  # not decoded: the size alone refuses it
    kind, _ = _inspect(data)
    if kind is not rules.kind:
        return [*problems, Problem("photo", N_("照片应为 JPG 格式。"))]
    image, _ = _decode(data, kind)
    if image.mode != rules.colour_mode:
        problems.append(Problem("photo", N_("照片应为彩色照片。")))
    width, height = image.size  # as stored; shown turned if EXIF says so
    if image.getexif().get(_EXIF_ORIENTATION) in _QUARTER_TURNS:
        width, height = height, width
    if (width, height) != (rules.width, rules.height):
        problems.append(Problem(
            "photo", _WRONG_SIZE,
            {"width": rules.width, "height": rules.height,
             "got_width": width, "got_height": height}))
    if height <= width:
        problems.append(Problem("photo", N_("照片应为竖版（高大于宽）。")))
    if not _background_is_white(ImageOps.exif_transpose(image), rules.background):
        problems.append(Problem("photo", N_("照片背景应为白色。")))
    return problems


def _background_is_white(image: Image.Image, rules: BackgroundRules) -> bool:
    """The band along the top and the bands down both sides (above the shoulders) are
    light on average and light nearly everywhere."""
    red, green, blue = image.convert("RGB").split()
    level = ImageChops.darker(ImageChops.darker(red, green), blue)
    width, height = level.size
    top = max(1, round(height * rules.top_band))
    side = max(1, round(width * rules.side_band))
    depth = max(top + 1, round(height * rules.side_depth))
    histogram = [0] * 256
    for box in ((0, 0, width, top), (0, top, side, depth), (width - side, top, width, depth)):
        for value, count in enumerate(level.crop(box).histogram()):
            histogram[value] += count
    pixels = sum(histogram)
    light = sum(histogram[rules.light_level:])
    mean = sum(value * count for value, count in enumerate(histogram)) / pixels
    return light >= rules.min_light_share * pixels and mean >= rules.min_mean_level
