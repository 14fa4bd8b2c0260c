"""The question_bank domain must load without the web stack."""

import pkgutil
import subprocess
import sys

import question_bank

FORBIDDEN = ("flask", "sqlalchemy", "exam_portal")


def test_question_bank_and_every_submodule_import_without_flask_or_sqlalchemy():
    modules = ["question_bank"] + [
        info.name
        for info in pkgutil.walk_packages(question_bank.__path__, "question_bank.")
    ]
    assert "question_bank.eligibility" in modules
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
