"""The layers stay apart, and the code stays lint- and type-clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE_MODULES = [
    "cockpit.config",
    "cockpit.store",
    "cockpit.store.book",
    "cockpit.services.doctor",
    "cockpit.demo",
    "cockpit.cli",
]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_does_not_import_textual(module: str) -> None:
    code = f"import sys, {module}; print('textual' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "False", f"{module} imports textual"


FIRST_PAINT_SPARES = ["numpy", "pandas", "cockpit.domain.records", "cockpit.scoring.explain"]
"""What the TUI's first screens (the book, Today) paint without: sqlite-utils is loaded without NumPy and
pandas (`cockpit.store.sqlite`), the record models and the scoring rules load with the screens that use
them (the log form, an account, an explanation)."""


def test_the_tui_opens_the_store_the_book_and_today_without_the_heavy_parts(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from cockpit.store import open_store; "
        "import cockpit.tui.app, cockpit.tui.screens.today; "
        "open_store(Path(sys.argv[1]), create=True).close(); "
        f"print([name for name in {FIRST_PAINT_SPARES!r} if name in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "book.db")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_ruff_is_clean() -> None:
    """Ruff from this interpreter's packages, like mypy below: `ruff` on PATH is missing outside an
    activated venv."""
    ruff = [sys.executable, "-m", "ruff"]
    lint = subprocess.run([*ruff, "check", "."], capture_output=True, text=True, cwd=ROOT, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = subprocess.run(
        [*ruff, "format", "--check", "."], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


@pytest.mark.slow
def test_mypy_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
