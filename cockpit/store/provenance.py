"""Where each account field's value came from (`account_field_sources`, migration 0029): written beside the
value, in the transaction that writes it, by an import or a CRM pull."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cockpit.domain.provenance import SOURCED_FIELDS
from cockpit.store.sqlite import Database


@dataclass(frozen=True)
class FieldSource:
    field: str
    value: Any
    """As the account holds it now."""
    system: str | None
    """`hubspot`, `salesforce`; None: a file that says neither."""
    written_by: str
    """`import:ID`, `sync:RUN` or `cli` (as the account's history says it)."""
    file: str | None
    modified_at: str | None
    """The source's own time of the value's last change; None: it gave none."""
    recorded_at: str

    def described(self, moment: Callable[[str], str]) -> str:
        """`Salesforce, changed there 2026-11-25 15:45, import of accounts.csv on 2026-11-26 09:00`, each
        moment shown by `moment`."""
        what, _, number = self.written_by.partition(":")
        by = {
            "sync": f"sync run {number}",
            "import": f"import of {self.file}" if self.file else "import",
        }.get(what, "set by hand")
        parts = [
            SYSTEM_NAMES.get(self.system or "", self.system or ""),
            f"changed there {moment(self.modified_at)}" if self.modified_at else "",
            f"{by} on {moment(self.recorded_at)}",
        ]
        return ", ".join(part for part in parts if part)


SYSTEM_NAMES = {"hubspot": "HubSpot", "salesforce": "Salesforce"}
"""How each CRM is named to a person."""


def modified_times(db: Database, account_id: str, fields: Iterable[str]) -> dict[str, str | None]:
    """Field -> the stored value's modified time, for those of `fields` whose source is known."""
    wanted = list(fields)
    marks = ", ".join("?" for _ in wanted)
    rows = db.execute(
        f"SELECT field, modified_at FROM account_field_sources WHERE account_id = ? AND field IN ({marks})",
        [account_id, *wanted],
    )
    return dict(rows.fetchall())


def record_sources(
    db: Database,
    account_id: str,
    fields: Iterable[str],
    *,
    system: str | None,
    written_by: str,
    file: str | None,
    modified_at: str | None,
    now: str,
) -> None:
    """Note the source of the account's `fields` just written (those whose source is kept)."""
    db.conn.executemany(
        "INSERT INTO account_field_sources "
        "(account_id, field, system, written_by, file, modified_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (account_id, field) DO UPDATE SET system = excluded.system, written_by = excluded.written_by, "
        "file = excluded.file, modified_at = excluded.modified_at, recorded_at = excluded.recorded_at",
        [
            (account_id, field, system, written_by, file, modified_at, now)
            for field in fields
            if field in SOURCED_FIELDS
        ],
    )


def field_sources(db: Database, account_id: str) -> list[FieldSource]:
    """The known sources of the account's fields, in the order of `SOURCED_FIELDS`, with their values."""
    columns = ", ".join(f"[{field}]" for field in SOURCED_FIELDS)
    row = db.execute(f"SELECT {columns} FROM accounts WHERE id = ?", [account_id]).fetchone()
    if row is None:
        return []
    values = dict(zip(SOURCED_FIELDS, row, strict=True))
    found = {
        field: rest
        for field, *rest in db.execute(
            "SELECT field, system, written_by, file, modified_at, recorded_at FROM account_field_sources "
            "WHERE account_id = ?",
            [account_id],
        )
    }
    return [FieldSource(field, values[field], *found[field]) for field in SOURCED_FIELDS if field in found]
