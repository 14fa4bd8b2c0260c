"""Registration evidence is judged by its bytes: real PDFs, JPEGs and PNGs pass; files
that only claim to be one, damaged files, scripted PDFs and decompression bombs are
refused; the ID photo meets the platform's size, format and white background."""

import io
import random
import struct
import zlib

import pytest
from PIL import Image, ImageDraw, ImageFile

from question_bank import documents
from question_bank.documents import DocumentKind, check_document, check_photo, sniff

MB = 1024 * 1024


# Fixtures, made here -------------------------------------------------------------------

def _photo(*, background=(255, 255, 255), size=(295, 413), image_format="JPEG", mode="RGB",
           exif=None, quality=90) -> bytes:
    """A head-and-shoulders stand-in: a dark oval "face" and shoulders reaching the lower
    corners, on *background*, with a little noise so it compresses like a photo."""
    width, height = size
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.27, height * 0.17, width * 0.73, height * 0.6), fill=(90, 60, 50))
    draw.polygon([(0, height), (width * 0.08, height * 0.8), (width * 0.3, height * 0.7),
                  (width * 0.7, height * 0.7), (width * 0.92, height * 0.8), (width, height)],
                 fill=(30, 30, 60))
    rng, pixels = random.Random(0), image.load()
    for _ in range(width * height // 4):
        x, y = rng.randrange(width), rng.randrange(height)
        if pixels[x, y] != background:
            shift = rng.randrange(-25, 25)
            pixels[x, y] = tuple(max(0, min(255, c + shift)) for c in pixels[x, y])
    if mode != "RGB":
        image = image.convert(mode)
    out = io.BytesIO()
    options = {"quality": quality} if image_format == "JPEG" else {}
    if exif is not None:
        options["exif"] = exif
    image.save(out, image_format, **options)
    return out.getvalue()


def _pdf(*objects: bytes, trailer: bytes = b"") -> bytes:
    """A PDF as the spec lays it out: header, numbered objects, a cross-reference table
    with each object's byte offset, trailer, startxref, %%EOF."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, trailer, xref)
    return bytes(out)


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (dictionary, len(data), data)


def _one_page(catalog_extra: bytes = b"", *extra_objects: bytes, content: bytes = None,
              trailer: bytes = b"") -> bytes:
    content = content if content is not None else _stream(b"", b"0 0 m 100 100 l S")
    return _pdf(b"<< /Type /Catalog /Pages 2 0 R %s>>" % catalog_extra,
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
                b"/Resources << >> >>",
                content, *extra_objects, trailer=trailer)


def _object_stream(objects: bytes) -> bytes:
    """An object stream (PDF 1.5) holding object 5, deflated."""
    header = b"5 0 "
    return _stream(b"/Type /ObjStm /N 1 /First %d /Filter /FlateDecode" % len(header),
                   zlib.compress(header + objects))


def _png_bomb(width: int, height: int) -> bytes:
    """A real one-bit PNG of *width* × *height* black pixels: a few tens of kilobytes
    that would decode to width × height pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))

    row = bytes(1 + (width + 7) // 8)  # filter byte, then the bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def _texts(problems) -> list[str]:
    return [problem.render() for problem in problems]


GOOD_PHOTO = _photo()
UNKNOWN = "文件应为完整的 PDF、JPG 或 PNG 文件。"
ACTIVE = "PDF 文件不能含有脚本或启动其他程序的动作。"


# What a file is ------------------------------------------------------------------------

def test_real_files_are_recognised_by_their_content():
    assert sniff(_one_page()) is DocumentKind.PDF
    assert sniff(GOOD_PHOTO) is DocumentKind.JPEG
    assert sniff(_photo(image_format="PNG")) is DocumentKind.PNG
    assert DocumentKind.JPEG.content_type == "image/jpeg"
    assert DocumentKind.JPEG.extension == "jpg"


def test_a_minimal_pdf_is_a_document():
    pdf = _one_page()
    # The fixture is well formed: startxref finds the table, and each entry its object.
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split()[0])
    assert pdf[xref:].startswith(b"xref\n0 5\n")
    entries = pdf[xref:].split(b"\n")[3:7]
    for number, entry in enumerate(entries, 1):
        assert pdf[int(entry[:10]):].startswith(b"%d 0 obj\n" % number)
    assert check_document(pdf, max_bytes=MB) == []


def test_a_pdf_with_a_deflated_page_passes():
    content = _stream(b"/Filter /FlateDecode", zlib.compress(b"0 0 m 100 100 l S"))
    assert check_document(_one_page(content=content), max_bytes=MB) == []


@pytest.mark.parametrize("catalog_extra, extra", [
    (b"/OpenAction 5 0 R ", b"<< /Type /Action /S /JavaScript /JS (app.alert\\(1\\)) >>"),
    (b"/Names << /JavaScript 5 0 R >> ", b"<< /Names [(x) 6 0 R] >>"),
    # #xx escapes spell the same name (PDF 1.2 and later).
    (b"/OpenAction 5 0 R ", b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>"),
    (b"/OpenAction 5 0 R ", b"<< /Type /Action /S /Launch /F (cmd.exe) >>"),
    (b"/OpenAction 5 0 R ", b"<< /S/JavaScript/JS 6 0 R >>"),
    # A scanner that skipped stream bodies would skip from this fake keyword to the
    # next endstream; a reader finds object 6 by its offset all the same.
    (b"/OpenAction 6 0 R ", b"<< /Title (stream\n) >>\nendobj\n6 0 obj\n"
                           b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"),
], ids=["javascript-action", "javascript-name-tree", "escaped-names", "launch-action",
        "script-in-a-stream", "behind-a-fake-stream-keyword"])
def test_a_pdf_that_runs_code_is_refused(catalog_extra, extra):
    data = _one_page(catalog_extra, extra)
    assert sniff(data) is None
    assert _texts(check_document(data, max_bytes=MB)) == [ACTIVE]


def test_names_in_text_and_random_image_bytes_are_not_taken_for_scripts():
    info = b"<< /Title (How /JS and /JavaScript /Launch files work) /Subject <2F4A53> >>"
    image = random.Random(2).randbytes(2 * MB)
    data = _one_page(b"", info, _stream(b"/Type /XObject /Subtype /Image /Filter /DCTDecode",
                                        image), trailer=b"/Info 5 0 R ")
    assert check_document(data, max_bytes=4 * MB) == []


def test_a_script_hidden_in_a_compressed_object_stream_is_found():
    hidden = _object_stream(b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>")
    assert sniff(_one_page(b"/OpenAction 5 0 R ", hidden)) is None
    harmless = _object_stream(b"<< /Type /Action /S /GoTo /D [3 0 R /Fit] >>")
    assert sniff(_one_page(b"/OpenAction 5 0 R ", harmless)) is DocumentKind.PDF
    untyped = _object_stream(b"<< /S /JavaScript /JS (x) >>").replace(b"/Type /ObjStm ", b"")
    assert sniff(_one_page(b"/OpenAction 5 0 R ", untyped)) is None
    plain = _stream(b"/Type /ObjStm /N 1 /First 4", b"5 0 << /S /GoTo /D [3 0 R /Fit] >>")
    assert sniff(_one_page(b"/OpenAction 5 0 R ", plain)) is DocumentKind.PDF


@pytest.mark.parametrize("dictionary, data", [
    (b"/Filter /FlateDecode", bytes(range(256)) * 4),  # not deflated data, or encrypted
    # Inflating leaves hex digits: the names are still hidden.
    (b"/Filter [/FlateDecode /ASCIIHexDecode]", zlib.compress(b"<< /JS (x) >>".hex().encode())),
    (b"/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 4 >>",
     zlib.compress(b"<< /S /GoTo /D [3 0 R /Fit] >>")),
    (b"/Filter /LZWDecode", b"\x80\x0b\x60\x50\x22\x0c\x0c\x85\x01"),
], ids=["garbage", "two-filters", "predictor", "lzw"])
def test_an_object_stream_that_cannot_be_read_as_it_is_is_refused(dictionary, data):
    unreadable = _stream(b"/Type /ObjStm /N 1 /First 4 " + dictionary, data)
    assert _texts(check_document(_one_page(b"", unreadable), max_bytes=MB)) == [ACTIVE]


@pytest.mark.parametrize("data", [
    b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(64),
    b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    b"  " + _one_page(),  # the header must open the file
    _one_page()[:-200],  # cut before %%EOF
    GOOD_PHOTO[: len(GOOD_PHOTO) // 2],  # a truncated JPEG
    _photo(image_format="PNG")[:-100],  # a truncated PNG
    b"\xff\xd8\xff\xe0" + bytes(200),  # a JPEG signature and nothing decodable
], ids=["html", "svg", "exe", "gif", "junk-before-header", "pdf-without-eof",
        "truncated-jpeg", "truncated-png", "jpeg-magic-only"])
@pytest.mark.parametrize("truncated_images_allowed", [False, True])
def test_files_that_are_not_complete_pdfs_jpegs_or_pngs_are_refused(
        data, truncated_images_allowed, monkeypatch):
    # WeasyPrint, loaded in the portal, lets Pillow decode cut-off images process-wide.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", truncated_images_allowed)
    assert sniff(data) is None
    assert _texts(check_document(data, max_bytes=MB)) == [UNKNOWN]


@pytest.mark.parametrize("side", [
    9_000,  # 81 million pixels: under Pillow's own limit, over MAX_PIXELS
    12_000,  # 144 million: Pillow warns
    20_000,  # 400 million: Pillow refuses
])
def test_a_decompression_bomb_is_refused_before_it_is_decoded(side):
    bomb = _png_bomb(side, side)
    assert len(bomb) < MB
    assert sniff(bomb) is None
    assert _texts(check_document(bomb, max_bytes=MB)) == [
        f"图片过大：不能超过 {documents.MAX_PIXELS // 1_000_000} 百万像素。"]


def test_an_empty_or_oversized_document_is_refused():
    assert _texts(check_document(b"", max_bytes=MB)) == ["文件是空的。"]
    pdf = _one_page()
    assert check_document(pdf, max_bytes=len(pdf)) == []
    assert _texts(check_document(pdf, max_bytes=len(pdf) - 1)) == [
        f"文件不能超过 {(len(pdf) - 1 + 1023) // 1024} KB。"]
    assert _texts(check_document(pdf + bytes(10 * MB), max_bytes=10 * MB)) == [
        "文件不能超过 10 MB。"]


# The ID photo --------------------------------------------------------------------------

def test_the_rules_are_the_platforms_295_by_413_white_jpeg():
    rules = documents.photo_rules()
    assert (rules.kind, rules.width, rules.height) == (DocumentKind.JPEG, 295, 413)
    assert rules.max_bytes == 100 * 1024


def test_a_white_background_295_by_413_jpeg_passes():
    assert check_photo(GOOD_PHOTO) == []
    assert check_document(GOOD_PHOTO, max_bytes=MB) == []


@pytest.mark.parametrize("background", [(67, 142, 219), (200, 30, 40), (215, 230, 250)],
                         ids=["id-photo-blue", "red", "pale-blue"])
def test_a_coloured_background_fails(background):
    assert _texts(check_photo(_photo(background=background))) == ["照片背景应为白色。"]


def test_a_wrong_size_fails_with_the_size_it_has():
    assert _texts(check_photo(_photo(size=(300, 400)))) == [
        "照片尺寸应为 295×413 像素，当前为 300×400。"]


def test_a_landscape_photo_fails_also_when_only_exif_turns_it():
    assert _texts(check_photo(_photo(size=(413, 295)))) == [
        "照片尺寸应为 295×413 像素，当前为 413×295。", "照片应为竖版（高大于宽）。"]
    turned = Image.Exif()
    turned[0x0112] = 6  # shown rotated a quarter turn
    assert "照片应为竖版（高大于宽）。" in _texts(check_photo(_photo(exif=turned.tobytes())))


def test_a_png_is_a_document_but_not_a_photo():
    png = _photo(image_format="PNG")
    assert check_document(png, max_bytes=MB) == []
    assert _texts(check_photo(png)) == ["照片应为 JPG 格式。"]


def test_a_pdf_or_a_damaged_jpeg_is_not_a_photo():
    assert _texts(check_photo(_one_page())) == [
        "照片文件大小应在 5 KB 到 100 KB 之间，当前为 1 KB。", "照片应为 JPG 格式。"]
    assert "照片应为 JPG 格式。" in _texts(check_photo(GOOD_PHOTO[:-2000]))


def test_a_grey_photo_fails():
    assert "照片应为彩色照片。" in _texts(check_photo(_photo(mode="L")))


def test_a_photo_outside_the_file_size_range_fails():
    noise = Image.frombytes("RGB", (295, 413), random.Random(1).randbytes(295 * 413 * 3))
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=100)
    assert len(out.getvalue()) > 100 * 1024
    size = (len(out.getvalue()) + 1023) // 1024
    assert _texts(check_photo(out.getvalue())) == [
        f"照片文件大小应在 5 KB 到 100 KB 之间，当前为 {size} KB。"]
    tiny = _photo(quality=1)
    assert len(tiny) < 5 * 1024
    assert _texts(check_photo(tiny))[0].startswith("照片文件大小应在 5 KB 到 100 KB 之间")
