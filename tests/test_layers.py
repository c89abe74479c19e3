"""The layer table of docs/architecture.md is the contract: every module sits in one layer, imports only the
layers and libraries its row allows, and only the store runs SQL."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cockpit"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
HEADER = "| layer | where | may use | libraries | owns | never |"
SQL_LAYERS = frozenset({"store"})
"""Where SQL may run."""
FOREIGN_QUERY_LAYERS = frozenset({"CRM adapters"})
"""Where query text is another system's language (Salesforce's SOQL), not SQL for our database."""
SQL_STATEMENT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|PRAGMA|WITH|BEGIN)\b")
EXECUTE_CALLS = frozenset({"execute", "executemany", "executescript"})


@dataclass(frozen=True)
class Layer:
    name: str
    places: tuple[str, ...]
    """Paths relative to the repository: a folder ends with `/`."""
    may_use: frozenset[str]
    libraries: frozenset[str]


def read_layers(text: str) -> list[Layer]:
    lines = text.splitlines()
    start = lines.index(HEADER) + 2
    layers = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        name, where, may_use, libraries = (cell.strip() for cell in line.strip("|").split("|")[:4])
        layers.append(
            Layer(
                name=name,
                places=tuple(re.findall(r"`([^`]+)`", where)),
                may_use=frozenset(
                    part.strip() for part in may_use.split(",") if part.strip() not in ("", "—")
                ),
                libraries=frozenset(
                    part.strip() for part in libraries.split(",") if part.strip() not in ("", "—")
                ),
            )
        )
    return layers


def layer_of(path: str, layers: list[Layer]) -> Layer | None:
    """The layer whose most specific place holds `path` (a repository-relative file)."""
    best: tuple[int, Layer] | None = None
    for layer in layers:
        for place in layer.places:
            holds = path == place or (place.endswith("/") and path.startswith(place))
            if holds and (best is None or len(place) > best[0]):
                best = (len(place), layer)
    return None if best is None else best[1]


def module_file(module: str, files: set[str]) -> str | None:
    base = module.replace(".", "/")
    for candidate in (f"{base}.py", f"{base}/__init__.py"):
        if candidate in files:
            return candidate
    return None


@dataclass(frozen=True)
class Use:
    line: int
    kind: str
    """`module` (a cockpit module), `library` (a third-party package or sqlite3), `sql`."""
    target: str


def uses(source: str, files: set[str]) -> list[Use]:
    """What one module imports of cockpit and of libraries, and where it runs SQL."""
    found: list[Use] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            if isinstance(node, ast.ImportFrom):
                if node.level or node.module is None or node.module == "__future__":
                    continue
                names = [node.module]
                names += [
                    f"{node.module}.{alias.name}" for alias in node.names
                ]  # submodules imported by name
            else:
                names = [alias.name for alias in node.names]
            for name in names:
                top = name.split(".")[0]
                if top == "cockpit":
                    target = module_file(name, files)
                    if target is not None:
                        found.append(Use(node.lineno, "module", target))
                elif top == "sqlite3" or top not in sys.stdlib_module_names:
                    found.append(Use(node.lineno, "library", top))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in EXECUTE_CALLS
        ):
            found.append(Use(node.lineno, "sql", f".{node.func.attr}()"))
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_STATEMENT.match(node.value)
        ):
            found.append(Use(node.lineno, "sql", node.value.strip().split()[0]))
    return list(dict.fromkeys(found))


def violations(layers: list[Layer], sources: dict[str, str]) -> list[str]:
    files = set(sources)
    by_name = {layer.name: layer for layer in layers}
    unknown = [name for layer in layers for name in layer.may_use if name not in by_name]
    problems = [f"docs/architecture.md: a layer may use {name!r}, which is no layer" for name in unknown]
    for path, source in sorted(sources.items()):
        layer = layer_of(path, layers)
        if layer is None:
            problems.append(f"{path}: no layer of docs/architecture.md holds it")
            continue
        for use in uses(source, files):
            where = f"{path}:{use.line}"
            if use.kind == "module":
                target = layer_of(use.target, layers)
                if target is not None and target is not layer and target.name not in layer.may_use:
                    problems.append(f"{where}: {layer.name} imports {use.target} ({target.name})")
            elif use.kind == "library":
                if use.target not in layer.libraries:
                    problems.append(f"{where}: {layer.name} imports {use.target}, not among its libraries")
            elif layer.name not in SQL_LAYERS and not (
                layer.name in FOREIGN_QUERY_LAYERS and not use.target.startswith(".")
            ):
                problems.append(f"{where}: {layer.name} runs SQL ({use.target}); only the store does")
    return problems


def package_sources() -> dict[str, str]:
    return {str(path.relative_to(ROOT)): path.read_text() for path in sorted(PACKAGE.rglob("*.py"))}


def test_the_code_keeps_the_layers_of_the_architecture() -> None:
    assert violations(read_layers(ARCHITECTURE.read_text()), package_sources()) == []


def test_every_place_the_table_names_exists() -> None:
    for layer in read_layers(ARCHITECTURE.read_text()):
        for place in layer.places:
            assert (ROOT / place).exists(), f"{layer.name}: {place}"


TOY_TABLE = f"""
{HEADER}
| --- | --- | --- | --- | --- | --- |
| base | `cockpit/base.py` | — | pydantic | | |
| store | `cockpit/store/` | base | sqlite3 | | |
| services | `cockpit/services/` | base, store | | | |
"""


@pytest.mark.parametrize(
    ("path", "source", "problem"),
    [
        ("cockpit/base.py", "from cockpit.store import db\n", "base imports cockpit/store/db.py (store)"),
        ("cockpit/base.py", "import httpx\n", "base imports httpx, not among its libraries"),
        ("cockpit/services/run.py", "import sqlite3\n", "services imports sqlite3"),
        ("cockpit/services/run.py", "db.execute('x')\n", "services runs SQL (.execute())"),
        ("cockpit/services/run.py", "QUERY = 'SELECT id FROM accounts'\n", "services runs SQL (SELECT)"),
        ("cockpit/elsewhere.py", "x = 1\n", "cockpit/elsewhere.py: no layer"),
    ],
)
def test_the_check_finds_each_kind_of_breach(path: str, source: str, problem: str) -> None:
    sources = {
        "cockpit/base.py": "import pydantic\n",
        "cockpit/store/__init__.py": "",
        "cockpit/store/db.py": "import sqlite3\nfrom cockpit import base\nSQL = 'SELECT 1'\n",
        "cockpit/services/run.py": "from cockpit.store.db import SQL\n",
        path: source,
    }
    found = violations(read_layers(TOY_TABLE), sources)
    assert any(problem in line for line in found), found
    sources[path] = "" if path != "cockpit/elsewhere.py" else source
    if path != "cockpit/elsewhere.py":
        assert violations(read_layers(TOY_TABLE), sources) == []
