"""Matching a file's columns to a kind's fields: by name, by a named profile, or by the user's `--map`.

Precedence for each column: `--map COLUMN=FIELD` (FIELD empty or `-` ignores the column), then the
profile, then the field names and aliases of the kind. A profile may map a yes/no column to the opposite
of a field with `not FIELD` (a Salesforce "Email Opt Out" is `not email_opt_in`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cockpit.errors import CockpitError
from cockpit.importer.kinds import Kind, normalize


class MappingError(CockpitError):
    title = "Columns do not match"
    exit_code = 2


@dataclass(frozen=True)
class ColumnMap:
    fields: dict[str, str]
    """Column -> field, for every column that is used."""
    negated: frozenset[str]
    """Columns whose yes/no value is inverted."""
    unknown: list[str]
    """Columns that match no field and are ignored."""

    def column_of(self, field: str) -> str:
        """The column a field was read from, as the file names it (for messages)."""
        return next((column for column, name in self.fields.items() if name == field), field)


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """`--map` values: `COLUMN=FIELD` each."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        column, sep, field = pair.partition("=")
        if not sep or not column.strip():
            raise MappingError(f"--map {pair!r}: expected COLUMN=FIELD (FIELD empty to ignore the column).")
        overrides[column.strip()] = field.strip()
    return overrides


def _target(kind: Kind, source: str, value: str) -> tuple[str | None, bool]:
    """A mapping target (`field`, `not field`, empty or `-`) checked against the kind's fields."""
    if value in ("", "-"):
        return None, False
    negated = value.startswith("not ")
    field = value.removeprefix("not ").strip()
    if field not in kind.record.model_fields:
        raise MappingError(
            f"{source}: {field!r} is not a field of {kind.name}.",
            hint=f"Fields of {kind.name}: {', '.join(kind.record.model_fields)}.",
        )
    return field, negated


def build_mapping(
    kind: Kind,
    source_name: str,
    columns: list[str],
    *,
    profile: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> ColumnMap:
    by_override = {normalize(column): target for column, target in (overrides or {}).items()}
    by_profile = {normalize(column): target for column, target in (profile or {}).items()}
    index = kind.column_index()
    fields: dict[str, str] = {}
    negated: set[str] = set()
    unknown: list[str] = []
    for column in columns:
        key = normalize(column)
        if key in by_override:
            field, inverted = _target(kind, f"--map {column}", by_override[key])
        elif key in by_profile:
            field, inverted = _target(kind, f"profile column {column!r}", by_profile[key])
        else:
            field, inverted = index.get(key), False
            if field is None:
                unknown.append(column)
        if field is None:
            continue
        clash = next((other for other, name in fields.items() if name == field), None)
        if clash is not None:
            raise MappingError(
                f"{source_name}: columns {clash!r} and {column!r} both mean {kind.name} field {field!r}.",
                hint=f"Keep one with --map, e.g. --map '{column}=' to ignore {column!r}.",
            )
        fields[column] = field
        if inverted:
            negated.add(column)
    mapped = set(fields.values())
    missing = [name for name in kind.required if name not in mapped]
    if missing:
        raise MappingError(
            f"{source_name}: no column for required field{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(name) for name in missing)} of {kind.name}.",
            hint=_missing_hint(kind, columns),
        )
    if kind.required_any and not mapped & set(kind.required_any):
        raise MappingError(
            f"{source_name}: {kind.name} need a column for one of {', '.join(kind.required_any)}, "
            "to match records on re-import.",
            hint=_missing_hint(kind, columns),
        )
    return ColumnMap(fields=fields, negated=frozenset(negated), unknown=unknown)


def _missing_hint(kind: Kind, columns: list[str]) -> str:
    shown = ", ".join(repr(column) for column in columns[:8]) + (" ..." if len(columns) > 8 else "")
    hint = f"The file's columns: {shown}. Name the right one with --map COLUMN=FIELD, or use a --profile."
    if len(columns) == 1:
        for delimiter, label in ((";", "';'"), ("\t", "tab"), ("|", "'|'")):
            if delimiter in columns[0]:
                return f"The header looks {label}-separated: pass --delimiter {label}. " + hint
    return hint
