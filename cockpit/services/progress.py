"""How a long operation says how far it has got: a callback the shell passes in. No service prints; the CLI
draws a bar on a terminal (`cli/common.ProgressBar`) and passes nothing where none is wanted."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, "int | None"], None]
"""Called with the units done so far and the total (None: not known)."""
