"""Fill empty English msgstr entries from a Python dict file: a translator's helper.

Usage: .venv/bin/python scripts/fill_translations.py TRANSLATIONS.py
(TRANSLATIONS.py defines T = {"中文 msgid": "English", ...}); prints what is still empty.
"""

import runpy
import sys

from babel.messages.pofile import read_po, write_po

PATH = "exam_portal/translations/en/LC_MESSAGES/messages.po"

translations = runpy.run_path(sys.argv[1])["T"]
with open(PATH, "rb") as handle:
    catalogue = read_po(handle)
missing = []
for message in catalogue:
    if message.id and not message.string:
        if message.id in translations:
            message.string = translations[message.id]
        else:
            missing.append(message.id)
with open(PATH, "wb") as handle:
    write_po(handle, catalogue, sort_output=True, width=100)
print("still empty:", missing or "none")
