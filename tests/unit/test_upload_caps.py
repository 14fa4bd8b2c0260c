"""Hostile uploads (RELIABILITY IN-9): files that lie in their zip headers, XML that
expands to millions of elements or nests without end, sheets with millions of cells.
Each is made here, read in a child process limited to 1 GiB of address space, and
must be refused with a message naming the cap and the part, quickly and in little
memory (the bounds are generous; bench/uploads.py measures the real figures)."""

import contextlib
import io
import json
import random
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib

import pytest

from question_bank.formats import csv_format, json_format, moodle_xml, qti, xlsx_format
from question_bank.formats.limits import COMMAND_LINE, WEB, MiB, UnreadableFile
from question_bank.score_sheet import LIMITS as SCORE_LIMITS
from question_bank.score_sheet import MAX_ROWS

from .bank_samples import ALL

SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              b"<sheetData>")
SHEET_TAIL = b"</sheetData></worksheet>"
# Generous bounds: the original files took 27 s and 1.1-1.5 GB.
SECONDS, PEAK_MB = 5.0, 250

_CHILD = textwrap.dedent("""
    import importlib, json, resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    from question_bank.formats.limits import UnreadableFile
    module, function, path = sys.argv[1:4]
    reader = getattr(importlib.import_module(module), function)
    data = open(path, "rb").read()
    began = time.perf_counter()
    try:
        reader(data)
        message = None
    except UnreadableFile as error:
        message = error.message % error.params
    seconds = time.perf_counter() - began
    # VmHWM, not ru_maxrss: a spawned child's ru_maxrss starts at its parent's.
    status = open("/proc/self/status").read()
    peak_kb = int(status.split("VmHWM:")[1].split()[0])
    print(json.dumps({"message": message, "seconds": seconds, "peak_mb": peak_kb / 1024}))
""")


def _refusal(tmp_path, reader, data: bytes) -> str:
    """Read *data* with *reader* in a child process; return the refusal message after
    checking it came quickly and in little memory."""
    path = tmp_path / "upload"
    path.write_bytes(data)
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, reader.__module__, reader.__name__, str(path)],
        capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
    outcome = json.loads(child.stdout)
    assert outcome["message"], "the file was read, not refused"
    assert outcome["seconds"] < SECONDS, outcome
    assert outcome["peak_mb"] < PEAK_MB, outcome
    return outcome["message"]


def _xlsx_with_sheet(sheet: bytes) -> bytes:
    """A real workbook from the template, its first sheet replaced by *sheet*."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx_format.template())) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, sheet if info.filename == SHEET
                            else source.read(info))
    return out.getvalue()


def _declare_size(data: bytes, name: str, size: int) -> bytes:
    """Patch the local and central headers of *name* to declare *size* bytes unpacked,
    with the checksum of the first *size* bytes: a reader that believes the header
    reads a small, valid-looking member."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
        crc = zlib.crc32(archive.read(name)[:size])
        directory = archive.start_dir
    patched = bytearray(data)
    struct.pack_into("<I", patched, info.header_offset + 14, crc)
    struct.pack_into("<I", patched, info.header_offset + 22, size)
    offset = directory
    while patched[offset:offset + 4] == b"PK\x01\x02":
        lengths = struct.unpack_from("<HHH", patched, offset + 28)
        if patched[offset + 46:offset + 46 + lengths[0]] == name.encode():
            struct.pack_into("<I", patched, offset + 16, crc)
            struct.pack_into("<I", patched, offset + 24, size)
        offset += 46 + sum(lengths)
    return bytes(patched)


def _qti_with_manifest(manifest: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("imsmanifest.xml", manifest)
    return out.getvalue()


def _dense_rows(rows: int, columns: int) -> bytes:
    row = b"".join(b'<c t="inlineStr"><is><t>x</t></is></c>' for _ in range(columns))
    return b"".join(b'<row r="%d">' % n + row + b"</row>" for n in range(1, rows + 1))


def test_a_zip_member_that_inflates_past_its_declared_size_stops_at_the_cap(tmp_path):
    # The outside tester's file: headers declare 4 KB, the sheet unpacks to far more.
    sheet = SHEET_HEAD + b" " * (WEB.member_bytes + MiB) + SHEET_TAIL
    data = _declare_size(_xlsx_with_sheet(sheet), SHEET, 4096)
    assert len(data) < 1 * MiB
    message = _refusal(tmp_path, xlsx_format.read, data)
    assert SHEET in message and f"{WEB.member_bytes // MiB} MB" in message


def test_a_zip_member_longer_than_its_header_says_is_refused_under_the_cap_too(tmp_path):
    sheet = SHEET_HEAD + b" " * (4 * MiB) + _dense_rows(2, 3) + SHEET_TAIL
    data = _declare_size(_xlsx_with_sheet(sheet), SHEET, 4096)
    message = _refusal(tmp_path, xlsx_format.read, data)
    assert SHEET in message and "头部" in message


def test_the_bytes_of_all_members_together_are_capped(tmp_path):
    padding = b"<a>" + b" " * (WEB.member_bytes - MiB) + b"</a>"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx_format.template())) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        for n in range(WEB.total_bytes // len(padding) + 1):
            target.writestr(f"xl/padding{n}.xml", padding)
    message = _refusal(tmp_path, xlsx_format.read, out.getvalue())
    assert f"{WEB.total_bytes // MiB} MB" in message


def test_a_qti_manifest_of_millions_of_elements_is_refused_at_the_element_cap(tmp_path):
    # 50 MB of plain elements, a 48 KB zip: refused at the cap, never parsed whole.
    manifest = b"<manifest>" + b"<a/>" * (50 * MiB // 4) + b"</manifest>"
    data = _qti_with_manifest(manifest)
    assert len(data) < 100 * 1024
    message = _refusal(tmp_path, qti.read, data)
    assert "imsmanifest.xml" in message and f"{WEB.xml_elements:,}" in message


def test_a_moodle_file_of_millions_of_elements_is_refused_at_the_element_cap(tmp_path):
    data = b"<quiz>" + b"<a/>" * (50 * MiB // 4) + b"</quiz>"
    message = _refusal(tmp_path, moodle_xml.read, data)
    assert f"{WEB.xml_elements:,}" in message and "元素" in message


def test_deeply_nested_xml_is_refused_at_the_depth_cap(tmp_path):
    deep = b"<a>" * 1_000_000 + b"</a>" * 1_000_000
    message = _refusal(tmp_path, moodle_xml.read, b"<quiz>" + deep + b"</quiz>")
    assert "嵌套" in message and str(WEB.xml_depth) in message
    manifest = b"<manifest>" + deep + b"</manifest>"
    message = _refusal(tmp_path, qti.read, _qti_with_manifest(manifest))
    assert "imsmanifest.xml" in message and "嵌套" in message


def test_a_sheet_of_more_cells_than_the_cap_is_refused(tmp_path):
    columns = 20
    rows = WEB.sheet_cells // columns + 1000
    data = _xlsx_with_sheet(SHEET_HEAD + _dense_rows(rows, columns) + SHEET_TAIL)
    message = _refusal(tmp_path, xlsx_format.read, data)
    assert SHEET in message and f"{WEB.sheet_cells:,}" in message and "单元格" in message


def test_two_cells_far_apart_count_as_the_whole_range_between_them(tmp_path):
    # Readers allocate rows × columns, so two cells at A1 and XFD1048576 are 17 billion.
    far = (b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
           b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>y</t></is></c></row>')
    message = _refusal(tmp_path, xlsx_format.read, _xlsx_with_sheet(SHEET_HEAD + far + SHEET_TAIL))
    assert SHEET in message and "单元格" in message


def test_a_part_dressed_as_a_sheet_still_counts_its_elements(tmp_path):
    # Only a cell's own content leaves the element cap to the cell cap: shared strings
    # wrapped in <worksheet><sheetData> are still elements the reader keeps.
    strings = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               b"<worksheet><sheetData>" + b"<si><t/></si>" * (WEB.xml_elements // 2 + 1)
               + b"</sheetData></worksheet></sst>")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx_format.template())) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        target.writestr("xl/sharedStrings.xml", strings)
    message = _refusal(tmp_path, xlsx_format.read, out.getvalue())
    assert "xl/sharedStrings.xml" in message and f"{WEB.xml_elements:,}" in message


def test_a_score_sheet_has_room_for_its_rows_and_no_more():
    # Five columns of MAX_ROWS scores and the header row, the sheet's own cap.
    def far(row: int) -> bytes:
        cell = b'<c r="%s%d" t="inlineStr"><is><t>x</t></is></c>'
        rows = (b'<row r="1">' + cell % (b"A", 1) + b'</row><row r="%d">' % row
                + cell % (b"E", row) + b"</row>")
        return _xlsx_with_sheet(SHEET_HEAD + rows + SHEET_TAIL)

    assert len(xlsx_format.read_rows(far(MAX_ROWS + 1), caps=SCORE_LIMITS)) == MAX_ROWS + 1
    with pytest.raises(UnreadableFile) as raised:
        xlsx_format.read_rows(far(MAX_ROWS + 2), caps=SCORE_LIMITS)
    assert f"{SCORE_LIMITS.sheet_cells:,}" in raised.value.message % raised.value.params


def test_a_zip_of_more_members_than_the_cap_is_refused(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("imsmanifest.xml", b"<manifest/>")
        for n in range(WEB.members):
            package.writestr(f"{n}", b"")
    message = _refusal(tmp_path, qti.read, out.getvalue())
    assert f"{WEB.members:,}" in message


def test_a_csv_of_blank_lines_is_refused_at_the_cell_cap(tmp_path):
    message = _refusal(tmp_path, csv_format.read, b"\n" * (8 * MiB))
    assert f"{WEB.sheet_cells:,}" in message and "单元格" in message


def test_csv_rows_are_counted_as_records_not_lines():
    # Case texts span many lines inside one quoted cell; the grid is records × columns.
    text = '"' + "\n".join(["一行案例文字"] * 100) + '"'
    rows = [",".join(f"h{n}" for n in range(23))] + [
        ",".join([text] + ["x"] * 22) for _ in range(3000)]
    assert len(csv_format.read_rows("\n".join(rows).encode())) == 3001


def test_json_nested_deeper_than_the_cap_is_refused():
    deep = "[" * (WEB.json_depth + 1) + "]" * (WEB.json_depth + 1)
    with pytest.raises(UnreadableFile) as raised:
        json_format.read(deep.encode())
    assert str(WEB.json_depth) in raised.value.message % raised.value.params


def test_a_member_packed_with_an_unsupported_method_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_BZIP2) as package:
        package.writestr("imsmanifest.xml", b"<manifest/>")
    with pytest.raises(UnreadableFile) as raised:
        qti.read(out.getvalue())
    assert "imsmanifest.xml" in raised.value.message % raised.value.params


@pytest.mark.parametrize("caps", [WEB, COMMAND_LINE], ids=["web", "command_line"])
def test_the_caps_only_grow_from_the_portal_to_the_command_line(caps):
    assert all(getattr(COMMAND_LINE, name) >= getattr(caps, name)
               for name in caps.__dataclass_fields__)


FULL_WEB_FILE = [(f"e-{n}", list(ALL.values())[n % len(ALL)]) for n in range(5000)]


@pytest.mark.parametrize("module", [xlsx_format, csv_format, json_format, moodle_xml, qti],
                         ids=lambda module: module.__name__.rsplit(".", 1)[1])
def test_a_full_web_upload_of_5000_items_stays_inside_every_cap(module):
    items = FULL_WEB_FILE
    if module in (moodle_xml, qti):
        items = [(external_id, content) for external_id, content in items
                 if content.item_type.is_choice]
    written = module.write(items)
    data = written[0] if isinstance(written, tuple) else written
    records = module.read(data, max_items=5000)
    assert len(records) == len(items)


CHOICE_ITEMS = [(f"e-{n}", content) for n, content in enumerate(ALL.values())
                if content.item_type.is_choice]
DAMAGEABLE = {
    "xlsx": (xlsx_format, xlsx_format.write([(f"e-{n}", c) for n, c in enumerate(ALL.values())])),
    "qti": (qti, qti.write(CHOICE_ITEMS)[0]),
    "moodle_xml": (moodle_xml, moodle_xml.write(CHOICE_ITEMS)[0]),
}


@pytest.mark.parametrize("fmt", DAMAGEABLE)
def test_a_damaged_file_is_refused_never_crashes_the_reader(fmt):
    # Anything but UnreadableFile would be a 500 on the import page (RELIABILITY IN-1).
    module, data = DAMAGEABLE[fmt]
    rng = random.Random(0)
    for _ in range(600):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        with contextlib.suppress(UnreadableFile):
            module.read(bytes(damaged))


@pytest.mark.parametrize("declaration", [b"utf38", b"gb18030", b"x" * 300])
def test_xml_in_an_encoding_the_parser_lacks_is_refused(declaration):
    document = b'<?xml version="1.0" encoding="' + declaration + b'"?><quiz/>'
    with pytest.raises(UnreadableFile):
        moodle_xml.read(document)
    with pytest.raises(UnreadableFile):
        qti.read(_qti_with_manifest(document))
