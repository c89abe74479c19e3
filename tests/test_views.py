"""Saved views and typed filters of the book, and `cockpit accounts list` with filter options."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cockpit import resources
from cockpit.cli import app
from cockpit.config import Settings, load_settings
from cockpit.demo import STORY_ACCOUNTS, load_seeds
from cockpit.services.clv import run_clv
from cockpit.services.scoring import run_scoring
from cockpit.services.views import FilterError, parse_filter, refine, view_query
from cockpit.store import Store
from cockpit.store.book import BookFilter, BookQuery
from cockpit.store.db import build_database
from tests.clocks import at

TODAY = date(2026, 11, 22)
runner = CliRunner()


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(None)


@pytest.fixture(scope="module")
def scored_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"

    def fill(store: Store) -> None:
        load_seeds(store, resources.seeds_dir(), today=TODAY)
        run_clv(store, load_settings(None), TODAY, clock=at(TODAY))
        run_scoring(store, load_settings(None), TODAY, clock=at(TODAY))

    build_database(path, fill)
    return path


def test_a_typed_filter_sets_the_fields_it_names(settings: Settings) -> None:
    fields = parse_filter(
        "churn:high value:high,Medium band:red renewal:90 xsell:no segment:SMB", settings, TODAY
    )
    assert fields == {
        "churn_tiers": ("high",),
        "value_tiers": ("high", "medium"),
        "health_bands": ("red",),
        "renewal_between": ("2026-11-22", "2027-02-20"),
        "cross_sell_ready": False,
        "segments": ("SMB",),
    }
    assert parse_filter("", settings, TODAY) == {}
    assert parse_filter("adv:lover health:green", settings, TODAY) == {
        "advocacy": ("lover",),
        "health_bands": ("green",),
    }


def test_owner_me_is_the_configured_csm(settings: Settings) -> None:
    me = settings.model_copy(update={"general": settings.general.model_copy(update={"me": "Priya Raman"})})
    assert parse_filter("owner:me", me, TODAY) == {"owner": "Priya Raman"}
    assert parse_filter("owner:Daniel", settings, TODAY) == {"owner": "Daniel"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("churn:hi", "churn: 'hi' is not one of high, medium, low"),
        ("colour:red", "'colour:red' is not a filter"),
        ("high", "'high' is not a filter"),
        ("band:", "band: needs a value"),
        ("renewal:soon", "renewal: 'soon' is not a number of days"),
        ("owner:a,b", "owner: takes one value"),
    ],
)
def test_a_bad_filter_says_what_is_wrong(settings: Settings, text: str, message: str) -> None:
    with pytest.raises(FilterError) as raised:
        parse_filter(text, settings, TODAY)
    assert raised.value.message.startswith(message)


def test_a_filter_replaces_only_the_keys_it_names(settings: Settings) -> None:
    save_now = next(view for view in settings.ui.views if view.name == "Save now")
    query = view_query(save_now, settings, TODAY)
    refined = refine(query, parse_filter("churn:medium band:red", settings, TODAY))
    assert refined.filter.churn_tiers == ("medium",)
    assert refined.filter.health_bands == ("red",)
    assert refined.filter.value_tiers == query.filter.value_tiers == ("high",)
    assert refined.sort == query.sort and refined.filter.customers_on == "2026-11-22"
    assert refine(BookQuery(), {}) == BookQuery(filter=BookFilter())


def list_json(db: Path, *options: str) -> list[dict[str, object]]:
    result = runner.invoke(app, ["accounts", "list", "--db", str(db), "--json", *options])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_accounts_list_filters_by_tier_band_and_owner(scored_demo: Path) -> None:
    everyone = list_json(scored_demo)
    risky = list_json(scored_demo, "--churn", "high", "--value", "high")
    assert STORY_ACCOUNTS["cancel_lookup"] in {row["id"] for row in risky}
    assert {(row["churn_tier"], row["value_tier"]) for row in risky} == {("high", "high")}
    assert len(risky) == sum(
        1 for row in everyone if (row["churn_tier"], row["value_tier"]) == ("high", "high")
    )

    bands = list_json(scored_demo, "--band", "red", "--band", "yellow")
    assert bands and {row["health_band"] for row in bands} == {"red", "yellow"}

    owner = str(everyone[0]["owner"])
    theirs = list_json(scored_demo, "--owner", owner.upper())
    assert {row["owner"] for row in theirs} == {owner}
    assert len(theirs) == sum(1 for row in everyone if row["owner"] == owner)

    ready = list_json(scored_demo, "--cross-sell")
    assert STORY_ACCOUNTS["cross_sell_ready"] in {row["id"] for row in ready}
    assert all(row["cross_sell_ready"] is True for row in ready)


def test_accounts_list_filter_replaces_the_view_setting(scored_demo: Path) -> None:
    """`Save now` is high risk x high value; `--value other` keeps the risk and swaps the value."""
    rows = list_json(scored_demo, "--view", "save now", "--value", "other")
    assert rows and {(row["churn_tier"], row["value_tier"]) for row in rows} == {("high", "other")}


def test_accounts_list_shows_a_view_the_users_config_adds(scored_demo: Path, tmp_path: Path) -> None:
    config = tmp_path / "mine.toml"
    config.write_text(
        "[[ui.views]]\nname = 'Red book'\nhealth_band = ['red']\nsort = '-mrr'\n", encoding="utf-8"
    )
    rows = list_json(scored_demo, "--config", str(config), "--view", "RED BOOK")
    assert rows and {row["health_band"] for row in rows} == {"red"}
    mrrs = [float(str(row["mrr"])) for row in rows]
    assert mrrs == sorted(mrrs, reverse=True)
    assert list_json(scored_demo, "--config", str(config), "--view", "Save now")  # the shipped views stay


def test_accounts_list_with_a_default_view_that_names_no_view(scored_demo: Path, tmp_path: Path) -> None:
    config = tmp_path / "mine.toml"
    config.write_text("[ui]\ndefault_view = 'Red book'\n", encoding="utf-8")
    result = runner.invoke(app, ["accounts", "list", "--db", str(scored_demo), "--config", str(config)])
    assert result.exit_code == 2
    assert f"error: {config}: ui.default_view: names no view" in result.stderr


def test_accounts_list_rejects_a_bad_filter_value(scored_demo: Path) -> None:
    result = runner.invoke(app, ["accounts", "list", "--db", str(scored_demo), "--band", "blue"])
    assert result.exit_code == 2
    assert "band: 'blue' is not one of green, yellow, red" in result.stderr
    assert "Traceback" not in result.output


def test_every_demo_customer_shows_its_lifetime_value_with_an_interval(scored_demo: Path) -> None:
    rows = list_json(scored_demo)
    assert len(rows) == 150  # the demo's customers (churned accounts leave the book)
    for row in rows:
        low, clv, high = row["clv_low"], row["clv"], row["clv_high"]
        assert isinstance(low, int) and isinstance(clv, int) and isinstance(high, int), row
        assert 0 < low <= clv <= high, row
    table = runner.invoke(app, ["accounts", "list", "--db", str(scored_demo), "--sort=-clv", "--limit", "1"])
    top = max(rows, key=lambda row: row["clv"])  # type: ignore[arg-type, return-value]
    assert f"{top['clv']:,} ({top['clv_low']:,}-{top['clv_high']:,})" in table.stdout


def test_accounts_list_carries_churn_risk_model_evidence_and_advocacy(scored_demo: Path) -> None:
    rows = {str(row["id"]): row for row in list_json(scored_demo)}
    assert {row["churn_model"] for row in rows.values()} == {"rules"}
    assert {row["advocacy"] for row in rows.values()} <= {"lover", "liker", "lurker"}
    assert STORY_ACCOUNTS["lover"] in rows and rows[STORY_ACCOUNTS["lover"]]["advocacy"] == "lover"
    for account_id in (STORY_ACCOUNTS["cancel_lookup"], STORY_ACCOUNTS["lover"]):
        explained = runner.invoke(app, ["explain", account_id, "--db", str(scored_demo), "--json"])
        explanation = json.loads(explained.stdout)
        row = rows[account_id]
        assert row["churn_risk"] == round(explanation["churn"]["risk"], 3)
        health = explanation["health"]
        present, missing = len(health["components"]), len(health["missing"])
        assert row["health_evidence"] == {"present": present, "of": present + missing}
    evidence = {json.dumps(row["health_evidence"]) for row in rows.values()}
    assert len(evidence) > 1  # the demo's accounts are known to different extents


def test_accounts_list_as_csv_has_the_same_columns_and_is_spreadsheet_safe(
    scored_demo: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "demo.db"
    copy.write_bytes(scored_demo.read_bytes())
    store = Store(copy)
    with store.write() as db:
        db.execute(
            "UPDATE accounts SET name = '=HYPERLINK(\"http://x\")' WHERE id = ?", [STORY_ACCOUNTS["lover"]]
        )
    store.close()
    rows = list_json(copy)
    result = runner.invoke(app, ["accounts", "list", "--db", str(copy), "--csv"])
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(table[0]) == list(rows[0])
    assert [line["id"] for line in table] == [row["id"] for row in rows]
    lover = next(line for line in table if line["id"] == STORY_ACCOUNTS["lover"])
    assert lover["name"] == '\'=HYPERLINK("http://x")'
    evidence = next(row["health_evidence"] for row in rows if row["id"] == STORY_ACCOUNTS["lover"])
    assert (
        isinstance(evidence, dict)
        and lover["health_evidence"] == f"{evidence['present']} of {evidence['of']}"
    )
    both = runner.invoke(app, ["accounts", "list", "--db", str(copy), "--csv", "--json"])
    assert both.exit_code == 2


def test_export_scores_latest_gives_the_latest_run_only(scored_demo: Path, tmp_path: Path) -> None:
    copy = tmp_path / "demo.db"
    copy.write_bytes(scored_demo.read_bytes())
    earlier = runner.invoke(app, ["score", "--db", str(copy), "--as-of", "2026-10-01"])
    assert earlier.exit_code == 0, earlier.output
    every = runner.invoke(app, ["export", "scores", "--db", str(copy), "--format", "jsonl"])
    latest = runner.invoke(app, ["export", "scores", "--latest", "--db", str(copy), "--format", "jsonl"])
    assert latest.exit_code == 0, latest.output
    all_rows = [json.loads(line) for line in every.stdout.splitlines()]
    latest_rows = [json.loads(line) for line in latest.stdout.splitlines()]
    assert {row["as_of"] for row in all_rows} == {"2026-10-01", TODAY.isoformat()}
    assert {row["as_of"] for row in latest_rows} == {TODAY.isoformat()}  # the book's run, not the newest id
    assert len(latest_rows) == len(list_json(copy)) < len(all_rows)
    refused = runner.invoke(app, ["export", "accounts", "--latest", "--db", str(copy)])
    assert refused.exit_code == 2 and "only scores come in runs, not accounts" in refused.stderr
