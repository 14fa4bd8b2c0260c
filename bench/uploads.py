"""Benchmark reading uploads: hostile files against the caps, and full legitimate files.

Usage:
  .venv/bin/python bench/uploads.py [--only NAME ...] [--tree DIR] [--limit-gb 2]
                                    [--timeout 120] [--large]

Every file is made here (under a temporary folder), then read by a child process
(`python -c`, working directory and import path --tree, default this checkout) with its
address space limited to --limit-gb; the child reports the seconds spent in the reader
and its peak resident memory (VmHWM: a spawned child's ru_maxrss starts at its
parent's). With --tree pointing at an older export (`git archive <commit> | tar -x -C
DIR`) the same files give the figures before a change; readers that take no `caps`
are called without. --large adds the 100,000-item XLSX of `flask bank import` and a
600,000-row score sheet. Prints a Markdown table.
"""

import argparse
import importlib.util
import io
import json
import platform
import random
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from question_bank import score_sheet  # noqa: E402
from question_bank.formats import (  # noqa: E402
    csv_format,
    json_format,
    limits,
    moodle_xml,
    qti,
    xlsx_format,
)

MiB = 1024 * 1024
SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              b"<sheetData>")
SHEET_TAIL = b"</sheetData></worksheet>"

CHILD = """
import importlib, inspect, json, resource, sys, time
limit = int(sys.argv[5])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from question_bank.formats.limits import UnreadableFile
module, function, path, caps = sys.argv[1:5]
reader = getattr(importlib.import_module(module), function)
kwargs = {}
if caps != "-" and "caps" in inspect.signature(reader).parameters:
    owner, name = caps.rsplit(".", 1)
    kwargs["caps"] = getattr(importlib.import_module(owner), name)
data = open(path, "rb").read()
began = time.perf_counter()
try:
    result = reader(data, **kwargs)
    outcome = f"read ({len(result):,} rows/items)"
except UnreadableFile as error:
    outcome = "refused: " + error.message % error.params
except MemoryError:
    outcome = "MemoryError"
seconds = time.perf_counter() - began
status = open("/proc/self/status").read()
peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
print(json.dumps({"outcome": outcome, "seconds": seconds, "peak_mb": peak}))
"""


def run(tree: Path, reader, path: Path, caps: str, limit: int, timeout: int) -> dict:
    try:
        child = subprocess.run(
            [sys.executable, "-c", CHILD, reader.__module__, reader.__name__, str(path), caps,
             str(limit)], cwd=tree, env={"PYTHONPATH": str(tree)}, capture_output=True,
            text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"outcome": f"still reading after {timeout} s (killed)", "seconds": None,
                "peak_mb": None}
    if child.returncode != 0:
        last = (child.stderr.strip().splitlines() or ["?"])[-1]
        return {"outcome": f"crashed (exit {child.returncode}): {last[:120]}",
                "seconds": None, "peak_mb": None}
    return json.loads(child.stdout)


# --- the files ------------------------------------------------------------------------

def xlsx_with(parts: dict[str, bytes]) -> bytes:
    """The template workbook with *parts* replaced or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx_format.template())) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename not in parts:
                target.writestr(info.filename, source.read(info))
        for name, data in parts.items():
            target.writestr(name, data)
    return out.getvalue()


def lying_xlsx(unpacked: int, declared: int) -> bytes:
    """A workbook whose sheet unpacks to *unpacked* bytes while both headers declare
    *declared*, with the checksum of the first *declared* bytes."""
    out = io.BytesIO()
    pad = b" " * MiB
    with zipfile.ZipFile(io.BytesIO(xlsx_format.template())) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            if info.filename != SHEET:
                target.writestr(info.filename, source.read(info))
        with target.open(SHEET, "w") as sheet:
            sheet.write(SHEET_HEAD)
            for _ in range((unpacked - len(SHEET_HEAD) - len(SHEET_TAIL)) // MiB):
                sheet.write(pad)
            sheet.write(SHEET_TAIL)
    data = bytearray(out.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(SHEET)
        with archive.open(info) as member:
            crc = zlib.crc32(member.read(declared))
        offset = archive.start_dir
    struct.pack_into("<II", data, info.header_offset + 18, info.compress_size, declared)
    struct.pack_into("<I", data, info.header_offset + 14, crc)
    while data[offset:offset + 4] == b"PK\x01\x02":
        lengths = struct.unpack_from("<HHH", data, offset + 28)
        if data[offset + 46:offset + 46 + lengths[0]] == SHEET.encode():
            struct.pack_into("<I", data, offset + 16, crc)
            struct.pack_into("<I", data, offset + 24, declared)
        offset += 46 + sum(lengths)
    return bytes(data)


def dense_sheet(rows: int, columns: int) -> bytes:
    row = b"".join(b'<c t="inlineStr"><is><t>x</t></is></c>' for _ in range(columns))
    return SHEET_HEAD + b"".join(b'<row r="%d">' % n + row + b"</row>"
                                 for n in range(1, rows + 1)) + SHEET_TAIL


def score_rows(rows: int) -> bytes:
    """A score sheet of *rows* scores (inline strings, as some exporters write)."""
    def cell(column, text):
        return b'<c r="%s%d" t="inlineStr"><is><t>%s</t></is></c>' % (column, row, text)

    parts = [SHEET_HEAD]
    for row in range(1, rows + 2):
        if row == 1:
            cells = (cell(b"A", "准考证号".encode()) + cell(b"B", "科目".encode())
                     + cell(b"C", "成绩".encode()))
        else:
            cells = (cell(b"A", b"2026%012d" % row) + cell(b"B", b"COMP_JR")
                     + b'<c r="C%d"><v>%d</v></c>' % (row, 60 + row % 40))
        parts.append(b'<row r="%d">' % row + cells + b"</row>")
    parts.append(SHEET_TAIL)
    return b"".join(parts)


def bank_items(count: int) -> list:
    spec = importlib.util.spec_from_file_location("bench_bank", ROOT / "bench" / "bank.py")
    bank = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bank)
    return [content for _external_id, content in bank.make_items(count, random.Random(0))]


def hostile() -> list[tuple[str, object, bytes, str]]:
    """(name, reader, file, caps) of each hostile file."""
    manifest = b"<manifest>" + b"<a/>" * (50 * MiB // 4) + b"</manifest>"
    qti_bomb = io.BytesIO()
    with zipfile.ZipFile(qti_bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        package.writestr("imsmanifest.xml", manifest)
    members = io.BytesIO()
    with zipfile.ZipFile(members, "w") as package:
        package.writestr("imsmanifest.xml", b"<manifest/>")
        for n in range(limits.WEB.members):
            package.writestr(f"{n}", b"")
    far = (b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
           b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>y</t></is></c></row>')
    web, score = "question_bank.formats.limits.WEB", "question_bank.score_sheet.LIMITS"
    return [
        ("QTI: 50 MB manifest of plain elements", qti.read, qti_bomb.getvalue(), web),
        ("XLSX: headers declare 4 KB, sheet unpacks to 1.5 GB", xlsx_format.read,
         lying_xlsx(1536 * MiB, 4096), web),
        ("XLSX: headers declare 4 KB, sheet unpacks to 8 MB", xlsx_format.read,
         lying_xlsx(8 * MiB, 4096), web),
        ("Moodle XML: 50 MB of plain elements", moodle_xml.read,
         b"<quiz>" + b"<a/>" * (50 * MiB // 4) + b"</quiz>", web),
        ("Moodle XML: nested 1,000,000 deep", moodle_xml.read,
         b"<quiz>" + b"<a>" * 1_000_000 + b"</a>" * 1_000_000 + b"</quiz>", web),
        ("XLSX: 600,000 cells", xlsx_format.read,
         xlsx_with({SHEET: dense_sheet(30_000, 20)}), web),
        ("XLSX: two cells, A1 and XFD1048576", xlsx_format.read,
         xlsx_with({SHEET: SHEET_HEAD + far + SHEET_TAIL}), web),
        ("CSV: 8 MB of blank lines", csv_format.read, b"\n" * (8 * MiB), web),
        (f"QTI: zip of {limits.WEB.members + 1:,} members", qti.read, members.getvalue(), web),
        ("Score XLSX: 3,600,000 cells (score caps)", xlsx_format.read_rows,
         xlsx_with({SHEET: dense_sheet(600_000, 6)}), score),
        ("JSON: nested 100,000 deep", json_format.read, b"[" * 100_000 + b"]" * 100_000, web),
    ]


def legitimate(large: bool) -> list[tuple[str, object, bytes, str]]:
    items = bank_items(5000)
    choice = [(f"web-{n}", content) for n, content in enumerate(items)]
    web = "question_bank.formats.limits.WEB"
    files = [
        ("5,000 items, XLSX", xlsx_format.read, xlsx_format.write(choice), web),
        ("5,000 items, CSV", csv_format.read, csv_format.write(choice), web),
        ("5,000 items, JSON", json_format.read, json_format.write(choice), web),
        ("5,000 items, Moodle XML", moodle_xml.read, moodle_xml.write(choice)[0], web),
        ("5,000 items, QTI", qti.read, qti.write(choice)[0], web),
    ]
    if large:
        many = [(f"cli-{n}", content) for n, content in enumerate(bank_items(100_000))]
        files.append(("100,000 items, XLSX (command line caps)", xlsx_format.read,
                      xlsx_format.write(many), "question_bank.formats.limits.COMMAND_LINE"))
        files.append((f"{score_sheet.MAX_ROWS:,} scores, XLSX (score caps)",
                      xlsx_format.read_rows, xlsx_with({SHEET: score_rows(score_sheet.MAX_ROWS)}),
                      "question_bank.score_sheet.LIMITS"))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="words of the names of the files to run")
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--limit-gb", type=float, default=2)
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("--large", action="store_true")
    args = parser.parse_args()
    limit = int(args.limit_gb * 1024 ** 3)
    print(f"tree {args.tree}, {platform.platform()}, Python {platform.python_version()}, "
          f"address space limited to {args.limit_gb:g} GiB")
    print()
    print("| File | Size | Outcome | Seconds | Peak RSS (MB) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for kind in (hostile, lambda: legitimate(args.large)):
            for name, reader, data, caps in kind():
                if args.only and not any(word in name for word in args.only):
                    continue
                path = Path(folder) / "upload"
                path.write_bytes(data)
                got = run(args.tree, reader, path, caps, limit, args.timeout)
                seconds = "–" if got["seconds"] is None else f"{got['seconds']:.2f}"
                peak = "–" if got["peak_mb"] is None else f"{got['peak_mb']:.0f}"
                print(f"| {name} | {len(data) / 1024:,.0f} KB | {got['outcome']} | {seconds} "
                      f"| {peak} |", flush=True)


if __name__ == "__main__":
    main()
