"""Matching a file's columns to a kind's fields: by name, by a named profile, or by the user's `--map`.

Precedence for each column: `--map COLUMN=FIELD` (FIELD empty or `-` ignores the column), then the
profile, then the field names and aliases of the kind. A field that `--map` or the profile gives a column
is read from that column only: another column that means it by name or alias is ignored (a HubSpot
contacts export carries both `Associated Company`, a name, and the id the profile maps). A profile may map a yes/no column to the opposite
of a field with `not FIELD` (a Salesforce "Email Opt Out" is `not email_opt_in`). An account's column
named or mapped `alias:SYSTEM` holds its id in that system (`alias:stripe`).

Value maps (`--values status:new=open,hold=pending`, or a profile's `values`) turn a source's own words
into the field's (an empty target: not given), matched ignoring case; a value they do not name is read as
it is. Constants (`--set kind=nps`, or a profile's `constants`) give a field the file has no column for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cockpit.domain.records import ALIAS_PREFIX, custom_key, field_problem
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
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    """Field -> {source value, lowered -> the field's value ("" not given)}."""
    constants: dict[str, str] = field(default_factory=dict)
    """Field -> the value every row gets."""
    kept: dict[str, str] = field(default_factory=dict)
    """Column -> custom key, for the columns that mean no field of a kind that keeps them (accounts):
    neither `--map` nor the profile names them, and no field or alias matches them."""

    def column_of(self, field: str) -> str:
        """The column a field was read from, as the file names it (for messages)."""
        return next((column for column, name in self.fields.items() if name == field), field)

    def reading(self, project: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
        """`project` (a row's values by field) with the value maps and constants applied."""
        if not self.values and not self.constants:
            return project
        values, constants = self.values, self.constants

        def read(cells: Any) -> dict[str, Any]:
            data = project(cells)
            for name, table in values.items():
                value = data.get(name)
                if isinstance(value, str | int) and not isinstance(value, bool):
                    mapped = table.get(str(value).strip().lower())
                    if mapped == "":
                        del data[name]
                    elif mapped is not None:
                        data[name] = mapped
            return {**constants, **data}

        return read


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """`--map` values: `COLUMN=FIELD` each."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        column, sep, field = pair.partition("=")
        if not sep or not column.strip():
            raise MappingError(f"--map {pair!r}: expected COLUMN=FIELD (FIELD empty to ignore the column).")
        overrides[column.strip()] = field.strip()
    return overrides


def parse_values(options: list[str]) -> dict[str, dict[str, str]]:
    """`--values` values: `FIELD:FROM=TO,FROM=TO` each (TO empty: not given)."""
    values: dict[str, dict[str, str]] = {}
    for option in options:
        name, sep, pairs = option.partition(":")
        table = values.setdefault(name.strip(), {})
        for pair in pairs.split(","):
            source, equals, target = pair.partition("=")
            if not sep or not equals or not name.strip() or not source.strip():
                raise MappingError(
                    f"--values {option!r}: expected FIELD:VALUE=NEW[,VALUE=NEW...] "
                    "(e.g. --values status:new=open,hold=pending; NEW empty for not given)."
                )
            table[source.strip()] = target.strip()
    return values


def parse_constants(pairs: list[str]) -> dict[str, str]:
    """`--set` values: `FIELD=VALUE` each."""
    constants: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise MappingError(f"--set {pair!r}: expected FIELD=VALUE (e.g. --set kind=nps).")
        constants[name.strip()] = value.strip()
    return constants


def _field_value(kind: Kind, source: str, name: str, value: str) -> None:
    """Refuse a value map's target or a constant that the field cannot take, once, before any row."""
    _known_field(kind, source, name)
    problem = field_problem(kind.record, name, value)
    if problem is not None:
        raise MappingError(f"{source}: {value!r} is not a value of {kind.name} field {name!r} ({problem}).")


def _target(kind: Kind, source: str, value: str) -> tuple[str | None, bool]:
    """A mapping target (`field`, `not field`, empty or `-`) checked against the kind's fields."""
    if value in ("", "-"):
        return None, False
    negated = value.startswith("not ")
    field = value.removeprefix("not ").strip()
    alias = _alias_field(kind, field)
    if alias is not None:
        return alias, False
    _known_field(kind, source, field)
    return field, negated


def _known_field(kind: Kind, source: str, name: str) -> None:
    if name not in kind.record.model_fields or name == kind.kept:
        raise MappingError(
            f"{source}: {name!r} is not a field of {kind.name}.",
            hint=f"Fields of {kind.name}: {', '.join(kind.record.model_fields)}.",
        )


def _alias_field(kind: Kind, name: str) -> str | None:
    """`alias:SYSTEM` (a column so named, or a mapping's target), for a kind whose records have aliases:
    the column holds the record's id in that system."""
    system = name.strip().lower().removeprefix(ALIAS_PREFIX)
    if "aliases" not in kind.record.model_fields or not name.lower().startswith(ALIAS_PREFIX) or not system:
        return None
    return ALIAS_PREFIX + system


def build_mapping(
    kind: Kind,
    source_name: str,
    columns: list[str],
    *,
    profile: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
    values: Mapping[str, Mapping[str, str]] | None = None,
    constants: Mapping[str, str] | None = None,
) -> ColumnMap:
    by_override = {normalize(column): target for column, target in (overrides or {}).items()}
    by_profile = {normalize(column): target for column, target in (profile or {}).items()}
    index = kind.column_index()
    named: dict[str, str] = {}
    """Column -> field for the columns `--map` or the profile name: they win over a column that only
    matches the same field by its name or an alias, which is then ignored."""
    negated: set[str] = set()
    for column in columns:
        key = normalize(column)
        if key in by_override:
            field, inverted = _target(kind, f"--map {column}", by_override[key])
        elif key in by_profile:
            field, inverted = _target(kind, f"profile column {column!r}", by_profile[key])
        else:
            continue
        if field is not None:
            _refuse_clash(kind, source_name, named, column, field)
            named[column] = field
            if inverted:
                negated.add(column)
    explicit = set(named.values())
    fields: dict[str, str] = {}
    for column in columns:
        key = normalize(column)
        if column in named:
            fields[column] = named[column]
        elif key not in by_override and key not in by_profile:
            matched = index.get(key) or _alias_field(kind, column)
            if matched is not None and matched not in explicit:
                _refuse_clash(kind, source_name, fields, column, matched)
                fields[column] = matched
    for name, value in (constants or {}).items():
        _field_value(kind, f"--set {name}", name, value)
        given = next((column for column, target in fields.items() if target == name), None)
        if given is not None:
            raise MappingError(
                f"{source_name}: --set {name} gives {kind.name} field {name!r}, which column {given!r} gives too.",
                hint=f"Keep one: drop --set {name}, or ignore the column with --map '{given}='.",
            )
    for name, table in (values or {}).items():
        for target in table.values():
            if target:
                _field_value(kind, f"--values {name}", name, target)
    mapped = set(fields.values()) | set(constants or {})
    missing = [name for name in kind.required if name not in mapped]
    if missing:
        raise MappingError(
            f"{source_name}: no column for required field{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(name) for name in missing)} of {kind.name}.",
            hint=_missing_hint(kind, columns),
        )
    if kind.required_any and not mapped & set(kind.required_any):
        raise MappingError(
            f"{source_name}: {kind.name} need a column for one of {', '.join(kind.required_any)}"
            + (", to match records on re-import." if kind.to_row else ", to find their account."),
            hint=_missing_hint(kind, columns),
        )
    return ColumnMap(
        fields=fields,
        negated=frozenset(negated),
        values={
            name: {source.lower(): target for source, target in table.items()}
            for name, table in (values or {}).items()
        },
        constants=dict(constants or {}),
        kept=_kept(kind, source_name, columns, fields, index, by_override, by_profile),
    )


def _kept(
    kind: Kind,
    source_name: str,
    columns: list[str],
    fields: dict[str, str],
    index: dict[str, str],
    *ignoring: Mapping[str, str],
) -> dict[str, str]:
    """The columns a kind keeps as custom fields: those that mean no field, hold no value a dotted path reads
    (JSON Lines) and are not ignored on purpose (named by `ignoring`, the normalised columns `--map` or the
    profile name)."""
    if kind.kept is None:
        return {}
    read_within = {name.partition(".")[0] for name in fields if "." in name}
    kept: dict[str, str] = {}
    for column in columns:
        key = normalize(column)
        if (
            column in fields
            or column in read_within
            or key in index
            or any(key in named for named in ignoring)
        ):
            continue
        custom = custom_key(column)
        if not custom:
            continue
        clash = next((other for other, taken in kept.items() if taken == custom), None)
        if clash is not None:
            raise MappingError(
                f"{source_name}: columns {clash!r} and {column!r} would both be kept as custom field {custom!r}.",
                hint=f"Keep one with --map, e.g. --map '{column}=' to ignore {column!r}.",
            )
        kept[column] = custom
    return kept


def _refuse_clash(kind: Kind, source_name: str, fields: dict[str, str], column: str, field: str) -> None:
    """Two columns for one field is an error; the hint keeps the one that can resolve (an id, an email)."""
    clash = next((other for other, name in fields.items() if name == field), None)
    if clash is None:
        return
    kept, dropped = (column, clash) if _resolves(column) and not _resolves(clash) else (clash, column)
    why = (
        f" and keep {kept!r}, which names the record by id, email or domain"
        if _resolves(kept) != _resolves(dropped)
        else ""
    )
    raise MappingError(
        f"{source_name}: columns {clash!r} and {column!r} both mean {kind.name} field {field!r}.",
        hint=f"Keep one with --map, e.g. --map '{dropped}=' to ignore {dropped!r}{why}.",
    )


_CAMEL_CASE = re.compile(r"([a-z0-9])([A-Z])")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_RESOLVING_WORDS = frozenset({"id", "ids", "email", "domain", "ref"})


def _resolves(column: str) -> bool:
    """Whether a column's name says it holds an id, an email or a domain (`Company ID`, `accountId`),
    which match a record, rather than a name, which does not."""
    words = _NOT_WORD.split(_CAMEL_CASE.sub(r"\1 \2", column).lower())
    return not _RESOLVING_WORDS.isdisjoint(words)


def _missing_hint(kind: Kind, columns: list[str]) -> str:
    shown = ", ".join(repr(column) for column in columns[:8]) + (" ..." if len(columns) > 8 else "")
    hint = f"The file's columns: {shown}. Name the right one with --map COLUMN=FIELD, or use a --profile."
    if len(columns) == 1:
        for delimiter, label in ((";", "';'"), ("\t", "tab"), ("|", "'|'")):
            if delimiter in columns[0]:
                return f"The header looks {label}-separated: pass --delimiter {label}. " + hint
    return hint
