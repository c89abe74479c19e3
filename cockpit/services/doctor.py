"""Health checks of an installation: the config, the database file and its schema, the CRM credentials, the
events source.

Each check says what it found and, when something is wrong, how to fix it. Nothing here changes data
(opening a cockpit file only switches it to WAL mode, as every cockpit connection does; another
application's file is only read, and whether the file takes writes is asked with a write rolled back).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from cockpit import paths
from cockpit.config import Settings, load_user_settings
from cockpit.crm.secrets import KEYRING_SERVICE, BadSecret, load_secret
from cockpit.errors import CockpitError, DatabaseError
from cockpit.store.db import DEFAULT_BUSY_TIMEOUT_MS, Store, check_cockpit_file, translate_sqlite_error

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None


DATABASE_CHECKS = frozenset({"database", "integrity", "schema", "references", "writing", "history"})


def exit_code(checks: list[Check]) -> int:
    """What `cockpit doctor` exits with: 0 when nothing failed, else the exit code of the gravest kind of
    failure, as every command uses them: 3 for the database, 2 for the configuration, 1 for the rest."""
    failed = {check.name for check in checks if check.status == "fail"}
    if failed & DATABASE_CHECKS:
        return 3
    if "config" in failed:
        return 2
    return 1 if failed else 0


def check_config(explicit: Path | None) -> tuple[Check, Settings | None]:
    source = paths.resolve_user_config_path(explicit)
    try:
        settings = load_user_settings(explicit)
    except CockpitError as error:
        return Check("config", "fail", error.message, error.hint), None
    where = f"defaults with {source} laid over them" if source else "defaults only (no user config file)"
    return Check("config", "ok", where), settings


def _failed(name: str, problem: CockpitError, detail: str = "") -> Check:
    return Check(name, "fail", detail + problem.message, problem.hint)


def check_database(path: Path, busy_timeout_ms: int) -> list[Check]:
    if not path.exists():
        return [Check("database", "fail", f"{path}: no database here", "Create one with `cockpit init`.")]
    try:
        check_cockpit_file(path, busy_timeout_ms=busy_timeout_ms, empty_ok=False)
    except DatabaseError as problem:
        return [_failed("database", problem)]
    store = Store(path, busy_timeout_ms=busy_timeout_ms)
    try:
        return _inspect(store)
    except sqlite3.Error as error:
        return [_failed("database", translate_sqlite_error(error, path))]
    finally:
        store.close()


def _inspect(store: Store) -> list[Check]:
    integrity = store.integrity_problems()
    checks = [
        Check("database", "ok", f"{store.path} ({store.path.stat().st_size:,} bytes)"),
        Check("integrity", "ok", "quick_check passed")
        if not integrity
        else Check(
            "integrity",
            "fail",
            "; ".join(integrity[:5]),
            "Restore from a backup, or rebuild with `cockpit init --db NEW` and re-import.",
        ),
    ]
    status = store.schema_status()
    if status.unknown:
        checks.append(
            Check(
                "schema",
                "fail",
                f"written by a newer cockpit (unknown migrations: {', '.join(status.unknown)})",
                "Upgrade cockpit: pip install -U cockpit.",
            )
        )
    elif status.pending:
        pending = f"{len(status.pending)} migration(s) pending: {', '.join(status.pending)}"
        try:
            store.migrate(rehearse=True)
        except DatabaseError as problem:
            checks.append(_failed("schema", problem, f"{pending}; they cannot be applied: "))
        else:
            checks.append(
                Check(
                    "schema",
                    "warn",
                    pending,
                    "They are applied the next time cockpit opens the database, or now with `cockpit init`.",
                )
            )
    else:
        checks.append(Check("schema", "ok", f"up to date ({len(status.applied)} migrations)"))
    broken = store.broken_references()
    checks.append(
        Check("references", "ok", "every reference resolves")
        if not broken
        else Check(
            "references",
            "fail",
            f"{len(broken)} row(s) point at records that do not exist (first: table {broken[0]})",
            "Re-import the missing records, or delete the orphaned rows.",
        )
    )
    try:
        store.check_writable()
    except DatabaseError as problem:
        checks.append(_failed("writing", problem))
    else:
        checks.append(Check("writing", "ok", "changes can be saved"))
    return checks


def check_crm(settings: Settings) -> list[Check]:
    """Report whether the credentials of each enabled CRM are present (environment or OS keyring) and usable
    (no whitespace, control or non-ASCII characters), never their values."""
    needed: list[tuple[str, str]] = []
    if settings.crm.hubspot.enabled:
        needed.append(("hubspot", settings.crm.hubspot.token_env))
    if settings.crm.salesforce.enabled:
        needed += [
            ("salesforce", settings.crm.salesforce.client_id_env),
            ("salesforce", settings.crm.salesforce.client_secret_env),
        ]
    if not needed:
        return [Check("crm", "ok", "no CRM enabled")]
    checks = []
    for crm, variable in needed:
        try:
            secret = load_secret(variable)
        except BadSecret as problem:
            checks.append(Check(f"crm {crm}", "fail", problem.message, problem.hint))
            continue
        checks.append(
            Check(f"crm {crm}", "ok", f"credential found in {secret.source}")
            if secret is not None
            else Check(
                f"crm {crm}",
                "fail",
                f"${variable} is not set and the OS keyring has no entry {KEYRING_SERVICE}/{variable}",
                f"export {variable}=... (or `keyring set {KEYRING_SERVICE} {variable}`) before `cockpit sync`.",
            )
        )
    return checks


def check_events(settings: Settings) -> Check:
    """Whether the events source (`[events]`) opens and holds the tables and columns its mapping names."""
    from cockpit.events import open_source

    if settings.events.source == "local":
        return Check("events", "ok", "usage and signals from this database")
    try:
        source = open_source(settings.events)
    except CockpitError as problem:
        return _failed("events", problem)
    assert source is not None
    try:
        problems = source.problems()
    except CockpitError as problem:
        return _failed("events", problem, f"{source.describe()}: ")
    finally:
        source.close()
    if problems:
        return Check(
            "events",
            "fail",
            f"{source.describe()}: " + "; ".join(problems),
            "Name the source's columns in [events.usage] and [events.signals].",
        )
    if not settings.events.signals.contact and any(
        playbook.about == "email" for playbook in settings.outreach.playbooks
    ):
        return Check(
            "events",
            "warn",
            f"{source.describe()}; [events.signals] contact is empty: an unopened email's follow-up has "
            "no recipient",
            "Name the column of the contact each email went to in [events.signals] contact.",
        )
    return Check("events", "ok", source.describe())


def check_history(path: Path, settings: Settings, today: date) -> Check:
    """The database's size and what `cockpit db compact` would free (a dry run of it)."""
    from cockpit.services.history import compact

    store = Store(path, busy_timeout_ms=settings.database.busy_timeout_ms)
    try:
        preview = compact(store, settings, today, dry_run=True)
    except sqlite3.Error as error:
        return _failed("history", translate_sqlite_error(error, path))
    finally:
        store.close()
    if preview.runs_dropped == 0 and preview.freeable_bytes < preview.size_before // 10:
        return Check("history", "ok", preview.line())
    return Check(
        "history", "warn", preview.line(), "Run `cockpit db compact` to drop them and shrink the file."
    )


def run_checks(config: Path | None, db_path: Path, today: date) -> list[Check]:
    config_check, settings = check_config(config)
    checks = [config_check]
    busy = settings.database.busy_timeout_ms if settings else DEFAULT_BUSY_TIMEOUT_MS
    checks += check_database(db_path, busy)
    if settings is not None:
        if all(check.status == "ok" for check in checks[1:]):
            checks.append(check_history(db_path, settings, today))
        checks += check_crm(settings)
        checks.append(check_events(settings))
    return checks
