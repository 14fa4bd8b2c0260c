"""Damaged exports from other systems are refused or read question by question; a reader
never raises anything but UnreadableFile (which the import page shows) (RELIABILITY IN-1)."""

import contextlib
import io
import random
import zipfile
from pathlib import Path

import pytest

from question_bank import syllabus
from question_bank.formats import gift, moodle_xml, qti
from question_bank.formats.foreign import FileDefaults, syllabus_finder
from question_bank.formats.limits import UnreadableFile
from question_bank.subjects import Subject

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"
DEFAULTS = FileDefaults(subject=Subject.COMP_JR, difficulty=3,
                        find_node=syllabus_finder(syllabus.load("2025")))


def _package(folder: str) -> bytes:
    root = FIXTURES / "qti" / folder
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # stored: damage reaches the XML
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


SOURCES = {
    "gift": (gift.read, (FIXTURES / "moodle_export.gift").read_bytes()),
    "moodle_xml": (moodle_xml.read, (FIXTURES / "moodle_export.xml").read_bytes()),
    "qti": (qti.read, _package("tool_c")),
}


@pytest.mark.parametrize("fmt", SOURCES)
def test_a_damaged_foreign_file_never_crashes_the_reader(fmt):
    read, data = SOURCES[fmt]
    rng = random.Random(0)
    # Printable damage keeps more of the structure readable, so it reaches the parsers.
    alphabet = b"{}~=#:%\\/<>&;[]$ \n\tabc0123" + "题（）".encode()
    for _ in range(300):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.choice(alphabet)
        with contextlib.suppress(UnreadableFile):
            read(bytes(damaged), defaults=DEFAULTS)
