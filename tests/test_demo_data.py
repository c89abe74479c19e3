"""The demo book: deterministic, true to the schema, committed as seeds that cannot drift, loaded with its dates
moved to today, and telling every story (`STORY_ACCOUNTS`: the situations the scores and playbooks must
catch) on a named account."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlite_utils import Database

from cockpit.demo.generator import (
    _NAME_SPACE,
    STALLED_FEATURE,
    STORY_ACCOUNTS,
    TABLE_COLUMNS,
    StoreNotEmpty,
    _BookGenerator,
    generate_book,
    generate_into_store,
)
from cockpit.demo.seedfiles import (
    MANIFEST,
    SEED_ACCOUNTS,
    SEED_ANCHOR,
    load_seeds,
    shift_anniversary,
    shift_date,
)
from cockpit.demo.seeds import main
from cockpit.errors import CockpitError
from cockpit.resources import seeds_dir
from cockpit.store import Store, open_store

SEEDS = seeds_dir()
SHIFT = 10
TODAY = SEED_ANCHOR + timedelta(days=SHIFT)
SIGNAL_KINDS = {
    "cancel_page_visit", "cancel_click", "support_ticket", "escalation", "email_sent", "email_opened",
    "email_clicked", "login", "nps", "csat", "referral", "review",
}  # fmt: skip


def _store(path: Path) -> Store:
    return open_store(path, create=True)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """The committed seeds, loaded as if opened ten days after their anchor."""
    store = _store(tmp_path_factory.mktemp("book") / "book.db")
    load_seeds(store, SEEDS, today=TODAY)
    yield store.db
    store.close()


def one(db: Database, sql: str, **params: Any) -> Any:
    """The single value a query returns; `today` is bound to the book's today."""
    return db.execute(sql, {"today": TODAY.isoformat(), **params}).fetchone()[0]


def _table_dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: sorted(db.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall(), key=repr)
        for table, columns in TABLE_COLUMNS.items()
    }


# --- Shape and determinism ---------------------------------------------------------------------------------


def test_table_columns_are_the_schemas(tmp_path: Path) -> None:
    store = _store(tmp_path / "x.db")
    for table, columns in TABLE_COLUMNS.items():
        # hidden 2 and 3 are generated columns (accounts.arr), which nobody inserts.
        schema = [
            row[1] for row in store.db.execute(f"PRAGMA table_xinfo({table})").fetchall() if row[6] == 0
        ]
        assert tuple(schema) == columns, table
    store.close()


def test_rows_carry_exactly_their_tables_columns() -> None:
    seen = set()
    for table, row in generate_book(accounts=len(STORY_ACCOUNTS) + 3, anchor=SEED_ANCHOR):
        assert tuple(row) == TABLE_COLUMNS[table]
        seen.add(table)
    assert seen == set(TABLE_COLUMNS)


def test_same_seed_same_book_and_another_seed_another() -> None:
    first = list(generate_book(accounts=20, seed=7, anchor=SEED_ANCHOR))
    assert first == list(generate_book(accounts=20, seed=7, anchor=SEED_ANCHOR))
    assert first != list(generate_book(accounts=20, seed=8, anchor=SEED_ANCHOR))


def test_a_small_book_is_the_start_of_a_bigger_one() -> None:
    small = list(generate_book(accounts=14, anchor=SEED_ANCHOR))
    assert list(generate_book(accounts=30, anchor=SEED_ANCHOR))[: len(small)] == small


def test_company_names_and_domains_are_unique_over_the_whole_name_space() -> None:
    generator = _BookGenerator(seed=7, anchor=SEED_ANCHOR, usage_density=1.0)
    companies = [generator._company(index) for index in range(_NAME_SPACE + 5)]
    assert len({name for name, _, _ in companies}) == len(companies)
    assert len({domain for _, domain, _ in companies}) == len(companies)


def test_generate_into_store_gives_about_two_hundred_usage_events_per_account(tmp_path: Path) -> None:
    store = _store(tmp_path / "x.db")
    seen: list[int] = []
    counts = generate_into_store(store, accounts=300, seed=11, anchor=SEED_ANCHOR, progress=seen.append)
    assert 140 <= counts["usage_events"] / 300 <= 260
    assert seen[-1] == 300
    for table, count in counts.items():
        assert one(store.db, f"SELECT count(*) FROM {table}") == count, table
    assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
    store.close()


@pytest.mark.slow
def test_generating_in_a_child_process_gives_the_same_book(tmp_path: Path) -> None:
    inline, child = _store(tmp_path / "inline.db"), _store(tmp_path / "child.db")
    generate_into_store(inline, accounts=40, anchor=SEED_ANCHOR, parallel=False)
    generate_into_store(child, accounts=40, anchor=SEED_ANCHOR, parallel=True)
    assert _table_dump(inline.db) == _table_dump(child.db)
    inline.close()
    child.close()


# --- Seeds -------------------------------------------------------------------------------------------------


def test_committed_seeds_are_what_the_generator_writes_now(tmp_path: Path) -> None:
    main([str(tmp_path)])  # python -m cockpit.demo.seeds DIRECTORY
    committed = sorted(path.name for path in SEEDS.iterdir())
    assert sorted(path.name for path in tmp_path.iterdir()) == committed
    for name in committed:
        assert (tmp_path / name).read_bytes() == (SEEDS / name).read_bytes(), f"seeds/{name} drifted"


def test_seeds_stay_small_and_say_what_they_are() -> None:
    assert sum(path.stat().st_size for path in SEEDS.iterdir()) < 5_000_000  # two years of history
    manifest = json.loads((SEEDS / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["anchor"] == SEED_ANCHOR.isoformat()
    assert (manifest["seed"], manifest["accounts"], manifest["generator"]) == (
        7,
        SEED_ACCOUNTS,
        "cockpit.demo.generator",
    )
    assert set(manifest["counts"]) == set(TABLE_COLUMNS)
    signal = json.loads((SEEDS / "signals.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert isinstance(signal["payload"], dict)  # nested, not a string


def test_loaded_seeds_match_the_manifest_and_the_foreign_keys(book: Database) -> None:
    counts = json.loads((SEEDS / MANIFEST).read_text(encoding="utf-8"))["counts"]
    for table, count in counts.items():
        assert one(book, f"SELECT count(*) FROM {table}") == count, table
    assert book.execute("PRAGMA foreign_key_check").fetchall() == []
    assert one(book, "SELECT count(*) FROM accounts WHERE name IS NULL OR name = ''") == 0


def test_seeds_loaded_at_their_anchor_are_the_generated_book(tmp_path: Path) -> None:
    loaded, generated = _store(tmp_path / "loaded.db"), _store(tmp_path / "generated.db")
    load_seeds(loaded, SEEDS, today=SEED_ANCHOR)
    generate_into_store(generated, accounts=SEED_ACCOUNTS, seed=7, anchor=SEED_ANCHOR)
    # Same values and same types: '' stays '' only where the schema forbids NULL, numbers are numbers.
    assert _table_dump(loaded.db) == _table_dump(generated.db)
    loaded.close()
    generated.close()


def test_loading_moves_every_date_to_today(book: Database) -> None:
    assert one(book, "SELECT max(occurred_at) FROM usage_events") == (TODAY - timedelta(days=1)).isoformat()
    assert (
        max(
            one(book, f"SELECT max({c}) FROM {t}")
            for t, c in (("signals", "occurred_at"), ("tickets", "opened_at"))
        )
        < TODAY.isoformat()
    )
    with (SEEDS / "accounts.csv").open(encoding="utf-8", newline="") as handle:
        written = {row["id"]: row["renewal_date"] for row in csv.DictReader(handle)}
    loaded = dict(book.execute("SELECT id, renewal_date FROM accounts").fetchall())
    for account, renewal in written.items():
        expected = (
            None if renewal == "" else (date.fromisoformat(renewal) + timedelta(days=SHIFT)).isoformat()
        )
        assert loaded[account] == expected
    renewal_soon = one(
        book, "SELECT renewal_date FROM accounts WHERE id = :a", a=STORY_ACCOUNTS["renewal_soon"]
    )
    assert renewal_soon == (TODAY + timedelta(days=30)).isoformat()
    stamp = one(book, "SELECT opened_at FROM tickets ORDER BY id LIMIT 1")
    assert len(stamp) == len("2026-11-22T10:00:00+00:00") and stamp.endswith("+00:00")


def test_a_store_that_holds_data_is_refused(tmp_path: Path) -> None:
    store = _store(tmp_path / "x.db")
    counts = load_seeds(store, SEEDS, today=TODAY)
    with pytest.raises(StoreNotEmpty, match="empty database"):
        load_seeds(store, SEEDS, today=TODAY)
    with pytest.raises(CockpitError):
        generate_into_store(store, accounts=5, anchor=TODAY)
    assert one(store.db, "SELECT count(*) FROM usage_events") == counts["usage_events"]
    store.close()


def _drop_last_transaction(folder: Path) -> None:
    lines = (folder / "transactions.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "transactions.csv").write_text("".join(lines[:-1]), encoding="utf-8")


def _break_a_date(folder: Path) -> None:
    text = (folder / "accounts.csv").read_text(encoding="utf-8")
    (folder / "accounts.csv").write_text(text.replace("2024-", "2024/", 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("damage", "message"), [(_drop_last_transaction, "manifest"), (_break_a_date, "accounts.csv")]
)
def test_damaged_seeds_load_nothing(tmp_path: Path, damage: Callable[[Path], None], message: str) -> None:
    damaged = tmp_path / "seeds"
    shutil.copytree(SEEDS, damaged)
    damage(damaged)
    store = _store(tmp_path / "x.db")
    with pytest.raises(CockpitError, match=message):
        load_seeds(store, damaged, today=TODAY)
    assert one(store.db, "SELECT count(*) FROM products") == 0  # one transaction: nothing landed
    store.close()


def test_shifting_keeps_the_format() -> None:
    assert shift_date("2026-11-22", 10) == "2026-12-02"
    assert shift_date("2026-11-22T10:34:00+00:00", -30) == "2026-10-23T10:34:00+00:00"
    assert shift_anniversary("1988-11-22", 10, SEED_ANCHOR) == "1988-12-02"
    assert shift_anniversary("1988-12-30", 5, SEED_ANCHOR) == "1989-01-04"
    assert shift_anniversary("1988-02-29", 0, SEED_ANCHOR) == "1988-02-29"


@given(day=st.dates(date(2000, 1, 1), date(2040, 12, 31)), days=st.integers(-3000, 3000))
def test_shifting_there_and_back_is_the_identity(day: date, days: int) -> None:
    stamp = f"{day.isoformat()}T08:15:00+00:00"
    assert shift_date(shift_date(stamp, days), -days) == stamp


@given(born=st.integers(1940, 2005), days=st.integers(-3000, 3000))
def test_a_birthday_on_the_anchor_stays_on_today(born: int, days: int) -> None:
    today = SEED_ANCHOR + timedelta(days=days)
    assume((today.month, today.day) != (2, 29))
    shifted = date.fromisoformat(shift_anniversary(date(born, 11, 22).isoformat(), days, SEED_ANCHOR))
    assert (shifted.month, shifted.day) == (today.month, today.day)


# --- The stories -------------------------------------------------------------------------------------------


def test_every_story_is_on_one_of_the_first_accounts(book: Database) -> None:
    assert len(set(STORY_ACCOUNTS.values())) == len(STORY_ACCOUNTS)
    for account in STORY_ACCOUNTS.values():
        assert one(book, "SELECT count(*) FROM accounts WHERE id = :a", a=account) == 1


def test_cancel_lookup_a_high_value_account_visits_the_cancel_page_and_clicks_cancel(book: Database) -> None:
    account = STORY_ACCOUNTS["cancel_lookup"]
    richer = one(
        book, "SELECT count(*) FROM accounts WHERE mrr > (SELECT mrr FROM accounts WHERE id = :a)", a=account
    )
    assert richer < 0.1 * one(book, "SELECT count(*) FROM accounts")
    for kind in ("cancel_page_visit", "cancel_click"):
        recent = """SELECT count(*) FROM signals WHERE account_id = :a AND kind = :kind
                    AND occurred_at >= date(:today, '-14 days') AND occurred_at < :today"""
        assert one(book, recent, a=account, kind=kind) >= 1, kind
    assert one(book, "SELECT churned_on FROM accounts WHERE id = :a", a=account) is None
    assert one(book, "SELECT playbook FROM outreach WHERE account_id = :a", a=account) == "save-now"


def test_support_burst_five_tickets_in_ten_days_one_escalated(book: Database) -> None:
    account = STORY_ACCOUNTS["support_burst"]
    recent = "opened_at >= date(:today, '-10 days')"
    assert one(book, f"SELECT count(*) FROM tickets WHERE account_id = :a AND {recent}", a=account) >= 5
    assert one(book, f"SELECT sum(escalated) FROM tickets WHERE account_id = :a AND {recent}", a=account) == 1
    escalations = "SELECT count(*) FROM signals WHERE account_id = :a AND kind = 'escalation'"
    assert one(book, escalations + " AND occurred_at >= date(:today, '-10 days')", a=account) == 1


def test_silent_no_usage_for_three_weeks_after_steady_use(book: Database) -> None:
    account = STORY_ACCOUNTS["silent"]
    last = one(book, "SELECT max(occurred_at) FROM usage_events WHERE account_id = :a", a=account)
    assert (TODAY - date.fromisoformat(last)).days >= 20
    assert (
        one(book, "SELECT count(DISTINCT occurred_at) FROM usage_events WHERE account_id = :a", a=account)
        >= 30
    )
    logins = "SELECT count(*) FROM signals WHERE account_id = :a AND kind = 'login' AND occurred_at > :last"
    assert one(book, logins, a=account, last=last) == 0


def test_unopened_email_three_or_more_emails_not_opened_in_sixty_days(book: Database) -> None:
    unopened = """
        SELECT count(*) FROM signals AS sent WHERE sent.account_id = :a AND sent.kind = 'email_sent'
        AND sent.occurred_at >= date(:today, '-60 days')
        AND NOT EXISTS (SELECT 1 FROM signals AS opened WHERE opened.account_id = sent.account_id
                        AND opened.kind = 'email_opened' AND opened.source_id = sent.source_id)
    """
    assert one(book, unopened, a=STORY_ACCOUNTS["unopened_email"]) >= 3
    subjects = book.execute("SELECT payload FROM signals WHERE kind LIKE 'email%'").fetchall()
    assert all(json.loads(payload)["subject"] for (payload,) in subjects)


def test_stalled_feature_a_few_active_days_then_nothing(book: Database) -> None:
    account = STORY_ACCOUNTS["stalled_feature"]
    owned = """SELECT count(*) FROM entitlements AS e JOIN features AS f ON f.product_id = e.product_id
               WHERE e.account_id = :a AND f.id = :f"""
    assert one(book, owned, a=account, f=STALLED_FEATURE) == 1
    days = """SELECT count(DISTINCT occurred_at) FROM usage_events WHERE account_id = :a AND feature_id = :f
              AND occurred_at >= date(:today, :since)"""
    assert 1 <= one(book, days, a=account, f=STALLED_FEATURE, since="-30 days") < 8  # onboarding, not adopted
    assert one(book, days, a=account, f=STALLED_FEATURE, since="-14 days") == 0
    other = (
        "SELECT count(*) FROM usage_events WHERE account_id = :a AND occurred_at >= date(:today, '-7 days')"
    )
    assert one(book, other, a=account) > 0  # the account is active: only the feature stalled


def test_cross_sell_ready_adopted_healthy_growing_promoter_without_the_complement(book: Database) -> None:
    account = STORY_ACCOUNTS["cross_sell_ready"]
    missing = """SELECT count(*) FROM product_complements AS pc
                 JOIN entitlements AS owned ON owned.product_id = pc.product_id AND owned.account_id = :a
                 WHERE pc.complement_id NOT IN (SELECT product_id FROM entitlements WHERE account_id = :a)"""
    assert one(book, missing, a=account) >= 1
    per_feature = book.execute(
        """SELECT f.id,
                  count(DISTINCT CASE WHEN u.occurred_at >= date(:today, '-30 days') THEN u.occurred_at END),
                  count(DISTINCT CASE WHEN u.occurred_at >= date(:today, '-30 days') THEN u.contact_id END)
           FROM entitlements AS e JOIN features AS f ON f.product_id = e.product_id
           LEFT JOIN usage_events AS u ON u.account_id = e.account_id AND u.feature_id = f.id
           WHERE e.account_id = :a GROUP BY f.id""",
        {"a": account, "today": TODAY.isoformat()},
    ).fetchall()
    assert per_feature and all(days >= 8 and users >= 2 for _, days, users in per_feature)  # adopted
    window = "SELECT count(*) FROM usage_events WHERE account_id = :a AND occurred_at >= date(:today, :s) AND occurred_at < date(:today, :e)"
    assert one(book, window, a=account, s="-30 days", e="+0 days") > 1.1 * one(
        book, window, a=account, s="-60 days", e="-30 days"
    )
    assert (
        one(
            book,
            "SELECT max(score) FROM surveys WHERE account_id = :a AND kind = 'nps' AND responded_at >= date(:today, '-180 days')",
            a=account,
        )
        >= 9
    )
    assert one(book, "SELECT count(*) FROM tickets WHERE account_id = :a", a=account) == 0
    assert (
        one(book, "SELECT count(*) FROM signals WHERE account_id = :a AND kind LIKE 'cancel%'", a=account)
        == 0
    )
    touch = "SELECT max(occurred_at) FROM interactions WHERE account_id = :a"
    assert one(book, touch, a=account) >= (TODAY - timedelta(days=14)).isoformat()
    assert (
        one(book, "SELECT renewal_date FROM accounts WHERE id = :a", a=account)
        > (TODAY + timedelta(days=90)).isoformat()
    )


def test_lovers_are_few_lurkers_are_many(book: Database) -> None:
    lover = STORY_ACCOUNTS["lover"]
    window = "occurred_at >= date(:today, '-365 days')"
    assert one(book, "SELECT max(score) FROM surveys WHERE account_id = :a AND kind = 'nps'", a=lover) >= 9
    acts = f"SELECT count(DISTINCT kind) FROM signals WHERE account_id = :a AND kind IN ('referral', 'review') AND {window}"
    assert one(book, acts, a=lover) == 2
    accounts = one(book, "SELECT count(*) FROM accounts")
    lovers = one(
        book,
        f"""SELECT count(DISTINCT s.account_id) FROM signals AS s
            JOIN surveys AS nps ON nps.account_id = s.account_id AND nps.kind = 'nps' AND nps.score >= 9
            WHERE s.kind IN ('referral', 'review') AND s.{window}""",
    )
    promoters = one(book, "SELECT count(DISTINCT account_id) FROM surveys WHERE kind = 'nps' AND score >= 9")
    silent = one(
        book,
        "SELECT count(*) FROM accounts WHERE id NOT IN (SELECT account_id FROM surveys WHERE kind = 'nps')",
    )
    assert 1 <= lovers <= 0.05 * accounts
    assert promoters - lovers >= 2 * lovers  # likers outnumber lovers
    assert accounts - promoters >= 0.8 * accounts  # lurkers: the great majority
    assert silent >= 0.6 * accounts  # most never answer an NPS survey
    lurker = STORY_ACCOUNTS["lurker"]
    assert one(book, "SELECT count(*) FROM surveys WHERE account_id = :a", a=lurker) == 0
    assert one(book, "SELECT count(*) FROM usage_events WHERE account_id = :a", a=lurker) < 30


def test_about_a_tenth_of_the_yearly_contracts_renew_within_ninety_days(book: Database) -> None:
    """Yearly contracts renew on an anniversary of the start (within a day or two: the book was moved to
    today), month-to-month ones within a month."""
    years = "(julianday(renewal_date) - julianday(start_date)) / 365.25"
    yearly = f"abs({years} - round({years})) * 365.25 <= 2"
    live = one(book, f"SELECT count(*) FROM accounts WHERE churned_on IS NULL AND {yearly}")
    due = one(
        book,
        f"""SELECT count(*) FROM accounts WHERE {yearly}
            AND renewal_date > :today AND renewal_date <= date(:today, '+90 days')""",
    )
    assert 0.05 * live <= due <= 0.15 * live
    monthly = one(book, f"SELECT count(*) FROM accounts WHERE churned_on IS NULL AND NOT {yearly}")
    customers = one(book, "SELECT count(*) FROM accounts WHERE churned_on IS NULL")
    assert 0.05 * customers <= monthly <= 0.3 * customers
    later = one(
        book,
        f"""SELECT count(*) FROM accounts WHERE churned_on IS NULL AND NOT {yearly}
            AND NOT (renewal_date > :today AND renewal_date <= date(:today, '+31 days'))""",
    )
    assert later == 0
    assert one(book, "SELECT count(*) FROM accounts WHERE churned_on IS NULL AND renewal_date IS NULL") == 0


def test_birthday_one_consenting_contact_is_born_today(book: Database) -> None:
    born_today = "strftime('%m-%d', birthday) = strftime('%m-%d', :today)"
    rows = book.execute(
        f"""SELECT account_id, field_sources FROM contacts WHERE {born_today} AND personalization_consent = 1
            AND email_opt_in = 1 AND do_not_contact = 0""",
        {"today": TODAY.isoformat()},
    ).fetchall()
    assert [(account, json.loads(sources)) for account, sources in rows] == [
        (STORY_ACCOUNTS["birthday"], {"birthday": "self_reported"})
    ]
    unshared = f"SELECT personalization_consent FROM contacts WHERE {born_today} AND account_id = :a"
    assert one(book, unshared, a=STORY_ACCOUNTS["birthday_no_consent"]) == 0
    assert one(book, "SELECT count(*) FROM contacts WHERE birthday IS NULL") > one(
        book, "SELECT count(*) FROM contacts WHERE birthday IS NOT NULL"
    )


def test_churned_accounts_stop_where_they_churned(book: Database) -> None:
    account = STORY_ACCOUNTS["churned"]
    churned_on = one(
        book, "SELECT churned_on FROM accounts WHERE id = :a AND lifecycle_stage = 'churned'", a=account
    )
    assert churned_on < TODAY.isoformat()
    assert (
        one(book, "SELECT max(occurred_at) FROM usage_events WHERE account_id = :a", a=account) < churned_on
    )
    assert {
        row[0] for row in book.execute("SELECT ended_on FROM entitlements WHERE account_id = ?", [account])
    } == {churned_on}
    churned = one(book, "SELECT count(*) FROM accounts WHERE churned_on >= date(:today, '-730 days')")
    assert 2 <= churned <= 0.35 * one(book, "SELECT count(*) FROM accounts")  # two years of history
    after = """SELECT count(*) FROM accounts AS a JOIN usage_events AS u ON u.account_id = a.id
               WHERE u.occurred_at >= a.churned_on"""
    assert one(book, after) == 0


# --- The rest of the book is consistent --------------------------------------------------------------------


def test_every_signal_kind_occurs_and_tickets_and_surveys_have_theirs(book: Database) -> None:
    assert {row[0] for row in book.execute("SELECT DISTINCT kind FROM signals")} == SIGNAL_KINDS
    unmatched_tickets = """SELECT count(*) FROM tickets AS t WHERE NOT EXISTS (SELECT 1 FROM signals AS s
        WHERE s.kind = 'support_ticket' AND s.source_id = t.id AND s.occurred_at = t.opened_at)"""
    assert one(book, unmatched_tickets) == 0
    unmatched_escalations = """SELECT count(*) FROM tickets AS t WHERE t.escalated = 1 AND NOT EXISTS
        (SELECT 1 FROM signals AS s WHERE s.kind = 'escalation' AND s.source_id = t.id)"""
    assert one(book, unmatched_escalations) == 0
    unmatched_surveys = """SELECT count(*) FROM surveys AS v WHERE NOT EXISTS (SELECT 1 FROM signals AS s
        WHERE s.kind = v.kind AND s.source_id = v.id AND s.value = v.score AND s.occurred_at = v.responded_at)"""
    assert one(book, unmatched_surveys) == 0
    assert one(book, "SELECT count(*) FROM signals WHERE kind IN ('nps', 'csat')") == one(
        book, "SELECT count(*) FROM surveys"
    )


def test_accounts_and_contacts_look_real(book: Database) -> None:
    owners = {row[0] for row in book.execute("SELECT DISTINCT owner FROM accounts")}
    assert 6 <= len(owners) <= 8
    assert {row[0] for row in book.execute("SELECT DISTINCT segment FROM accounts")} == {
        "smb",
        "mid-market",
        "enterprise",
    }
    query = "SELECT segment, min(mrr), max(mrr) FROM accounts GROUP BY segment"
    ranges = {segment: (low, high) for segment, low, high in book.execute(query)}
    assert ranges["smb"][1] <= ranges["mid-market"][0] and ranges["mid-market"][1] <= ranges["enterprise"][0]
    with_cac = one(book, "SELECT avg(cac IS NOT NULL) FROM accounts")
    assert 0.3 <= with_cac <= 0.7
    assert one(book, "SELECT min(start_date) FROM accounts") >= (TODAY - timedelta(days=4 * 366)).isoformat()
    per_segment = {
        segment: (low, high)
        for segment, low, high in book.execute(
            """SELECT segment, min(n), max(n) FROM (SELECT a.segment, count(*) AS n FROM contacts AS c
               JOIN accounts AS a ON a.id = c.account_id GROUP BY c.account_id) GROUP BY segment"""
        )
    }
    assert per_segment["smb"] == (2, 4)  # small teams; the bigger ones up to a whole team in power use
    assert all(low >= 2 and high <= 16 for low, high in per_segment.values())
    elsewhere = """SELECT count(*) FROM contacts AS c JOIN accounts AS a ON a.id = c.account_id
                   WHERE c.email NOT LIKE '%@' || a.domain"""
    assert one(book, elsewhere) == 0
    assert 0.7 <= one(book, "SELECT avg(email_opt_in) FROM contacts") < 1
    assert one(book, "SELECT sum(do_not_contact) FROM contacts WHERE email_opt_in = 1") == 0
    assert one(book, "SELECT sum(do_not_contact) FROM contacts") >= 1


def test_interactions_and_drafts_are_ready_to_sync(book: Database) -> None:
    assert (
        one(
            book,
            "SELECT count(*) FROM interactions AS i JOIN accounts AS a ON a.id = i.account_id WHERE i.author <> a.owner",
        )
        == 0
    )
    pending = "SELECT count(*) FROM interactions WHERE sync_state = 'pending'"
    assert one(book, pending + " AND occurred_at < date(:today, '-3 days')") == 0
    assert (
        one(book, "SELECT count(*) FROM interactions WHERE sync_state = 'synced' AND hubspot_id IS NULL") == 0
    )
    assert one(book, "SELECT count(DISTINCT sync_key) FROM interactions") == one(
        book, "SELECT count(*) FROM interactions"
    )
    drafts = book.execute("SELECT status, reason, dedupe_key, sync_key FROM outreach").fetchall()
    assert 3 <= len(drafts) <= 10
    assert {status for status, *_ in drafts} == {"draft"}
    assert all(json.loads(reason)["playbook"] for _, reason, _, _ in drafts)
    assert len({key for _, _, key, _ in drafts}) == len(drafts)
    assert one(book, "SELECT count(DISTINCT account_id) FROM transactions") > 0.9 * one(
        book, "SELECT count(*) FROM accounts"
    )
