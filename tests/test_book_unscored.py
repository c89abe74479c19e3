"""The accounts a score run did not score are kept with it (`record_unscored`), so that `End` after a score sort
reads them instead of probing the run for every account; the book's order stays exactly the same through
imports, deletions and new runs."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from cockpit.store import Store
from cockpit.store import book as book_module
from cockpit.store.book import BookFilter, BookQuery, fetch_book_before, record_unscored
from cockpit.store.scoring import finish_score_run
from tests.query_plans import query_plans
from tests.test_book_cursor import walk_back
from tests.test_book_order import NOW, SCORE, expected, fill

END = 9
KEPT_READS = {"gathered": 1, "walked": 1_000}
"""`_DENSE` for each way of reading the kept accounts that a query keeps: gathered and sorted (few of them),
or walked in the tie-breakers' index and probed in the kept list (many)."""


@pytest.fixture(params=list(KEPT_READS))
def kept_read(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(book_module, "_DENSE", KEPT_READS[request.param])
    return str(request.param)


def end_of_the_book(store: Store, key: str, descending: bool) -> list[str]:
    query = BookQuery(sort=key, descending=descending)  # type: ignore[arg-type]
    return [row.id for row in fetch_book_before(store.db, query, None, limit=END).rows]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("key", list(SCORE))
def test_end_after_a_score_sort_reads_the_kept_accounts_without_a_score(
    store: Store, key: str, descending: bool, kept_read: str
) -> None:
    rows = fill(store)
    with store.write() as db:
        record_unscored(db, 2)
    query = BookQuery(sort=key, descending=descending)  # type: ignore[arg-type]
    plans = query_plans(store, lambda: fetch_book_before(store.db, query, None, limit=END), "SELECT a.id, a.")
    wanted = expected(rows, key, descending)
    assert end_of_the_book(store, key, descending) == wanted[-END:]
    assert walk_back(store, query, 7) == wanted
    if kept_read == "gathered":
        assert any("unscored_accounts" in plan for plan in plans), plans
        assert not any("CORRELATED" in plan for plan in plans), plans
    else:  # the order's index, each account probed in the kept list: nothing gathered, nothing sorted
        assert any("SEARCH k USING PRIMARY KEY (run_id=? AND account_id=?)" in plan for plan in plans), plans
        assert any(plan.startswith("SCAN a USING COVERING INDEX") for plan in plans), plans
        assert not any("TEMP B-TREE" in plan for plan in plans), plans


def _import_two(store: Store, rows: list[dict[str, Any]]) -> None:
    with store.write() as db:
        for account_id, name in (("acc-new-1", "Aardvark"), ("acc-new-2", "Zebra")):
            db.execute(
                "INSERT INTO accounts (id, name, mrr, created_at, updated_at) VALUES (?, ?, 500, ?, ?)",
                [account_id, name, NOW, NOW],
            )
            rows.append({"id": account_id, "name": name, "mrr": 500.0, "scored": False})


def _delete_two(store: Store, rows: list[dict[str, Any]]) -> None:
    """One account the run scored and one it did not."""
    gone = {
        next(row["id"] for row in rows if row["scored"]),
        next(row["id"] for row in rows if not row["scored"]),
    }
    with store.write() as db:
        db.execute(
            f"UPDATE accounts SET deleted_at = ? WHERE id IN ({', '.join('?' for _ in gone)})", [NOW, *gone]
        )
    rows[:] = [row for row in rows if row["id"] not in gone]


def _rescore(store: Store, rows: list[dict[str, Any]]) -> None:
    """A new run that scores one account the last one did not (as the older run did), and leaves out one it
    scored."""
    dropped = next(row for row in rows if row["scored"])
    added = next(row for row in rows if not row["scored"])
    with store.write() as db:
        db.execute("INSERT INTO score_runs (id, as_of, started_at) VALUES (3, '2026-11-29', ?)", [NOW])
        db.execute(
            "INSERT INTO scores (run_id, account_id, as_of, value, health, churn_risk, churn_tier, value_tier, "
            "adoption_status, cross_sell_ready) SELECT 3, account_id, '2026-11-29', value, health, churn_risk, "
            "churn_tier, value_tier, adoption_status, cross_sell_ready FROM scores "
            "WHERE (run_id = 2 AND account_id != ?) OR (run_id = 1 AND account_id = ?)",
            [dropped["id"], added["id"]],
        )
        finish_score_run(db, 3, NOW, len(rows))
    dropped["scored"] = False
    added["scored"], added["health"] = True, 50.0  # the older run's health, copied


CHANGES = {"import": _import_two, "deletion": _delete_two, "re-score": _rescore}


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("key", ["health", "priority"])
def test_end_stays_the_last_rows_of_the_order_after_a_change(
    store: Store, key: str, descending: bool, change: str, kept_read: str
) -> None:
    rows = fill(store)
    with store.write() as db:
        record_unscored(db, 2)
    CHANGES[change](store, rows)
    wanted = expected(rows, key, descending)
    assert end_of_the_book(store, key, descending) == wanted[-END:]
    assert walk_back(store, BookQuery(sort=key, descending=descending), 7) == wanted  # type: ignore[arg-type]


def test_an_account_deleted_when_the_run_finished_comes_back_without_a_score(store: Store) -> None:
    rows = fill(store)
    last = max(rows, key=lambda row: (row["name"].lower(), row["id"]))
    with store.write() as db:
        db.execute("UPDATE accounts SET deleted_at = ? WHERE id = ?", [NOW, last["id"]])
        db.execute("DELETE FROM scores WHERE account_id = ?", [last["id"]])
        record_unscored(db, 2)
        db.execute("UPDATE accounts SET deleted_at = NULL WHERE id = ?", [last["id"]])
    last["scored"] = False
    assert end_of_the_book(store, "health", False) == expected(rows, "health", False)[-END:]
    assert end_of_the_book(store, "health", False)[-1] == last["id"]


def test_the_kept_accounts_a_view_leaves_out_are_counted_again_when_the_file_changes(store: Store) -> None:
    """Which kept accounts a view keeps is counted once per state of the file (`_kept_matching`): none while
    they are all churned, and the one that is a customer again as soon as another connection says so."""
    rows = fill(store)
    unscored = [row["id"] for row in rows if not row["scored"]]
    with store.write() as db:
        db.execute(
            f"UPDATE accounts SET churned_on = '2026-01-01' WHERE id IN ({', '.join('?' for _ in unscored)})",
            unscored,
        )
        record_unscored(db, 2)
    query = BookQuery(sort="health", filter=BookFilter(customers_on="2026-11-22"))
    scored = [row for row in rows if row["scored"]]
    wanted = expected(scored, "health", False)
    assert [row.id for row in fetch_book_before(store.db, query, None, limit=END).rows] == wanted[-END:]

    def back() -> None:
        with store.write() as db:
            db.execute("UPDATE accounts SET churned_on = NULL WHERE id = ?", [unscored[0]])

    thread = threading.Thread(target=back)  # another connection: this one sees it by the file's version
    thread.start()
    thread.join()
    back_again = expected([row for row in rows if row["scored"] or row["id"] == unscored[0]], "health", False)
    assert unscored[0] in back_again[-END:]
    assert [row.id for row in fetch_book_before(store.db, query, None, limit=END).rows] == back_again[-END:]
