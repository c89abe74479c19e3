"""What an export carries beyond cockpit's fields is kept (issue 16, point 9): an accounts file's other columns
as the accounts' custom fields, shown, filtered on and used by playbook triggers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cockpit.store import open_store
from tests.test_import import cockpit, rows, write

SAAS_ACCOUNTS = (
    "account_id,account_name,industry,country,signup_date,referral_source,plan_tier,seats,is_trial,churn_flag\n"
    "A-1,Acme,FinTech,DE,2024-01-03,partner,Pro,20,False,False\n"
    "A-2,Globex,EdTech,,2024-02-03,ads,Basic,5,True,False\n"
)
"""The accounts table of a five-table SaaS data set (accounts, subscriptions, feature usage, tickets, churn)."""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "book.db"
    open_store(path, create=True).close()
    return path


def custom(db: Path) -> dict[str, dict[str, str]]:
    return {str(id_): json.loads(str(text)) for id_, text in rows(db, "SELECT id, custom FROM accounts")}


def test_columns_that_mean_no_field_are_kept_as_custom_fields(db: Path, tmp_path: Path) -> None:
    code, _, err = cockpit("import", "accounts", write(tmp_path / "accounts.csv", SAAS_ACCOUNTS), "--db", db)
    assert code == 0, err
    assert "kept columns 'industry', 'country', 'referral_source', 'is_trial', 'churn_flag' as custom" in err
    assert rows(db, "SELECT id, name, plan, seats, start_date FROM accounts ORDER BY id") == [
        ("A-1", "Acme", "Pro", 20, "2024-01-03"),
        ("A-2", "Globex", "Basic", 5, "2024-02-03"),
    ]
    assert custom(db) == {
        "A-1": {
            "industry": "FinTech",
            "country": "DE",
            "referral_source": "partner",
            "is_trial": "False",
            "churn_flag": "False",
        },
        "A-2": {"industry": "EdTech", "referral_source": "ads", "is_trial": "True", "churn_flag": "False"},
    }


def test_reimport_updates_custom_fields_and_a_dropped_column_is_left_alone(db: Path, tmp_path: Path) -> None:
    first = write(tmp_path / "accounts.csv", SAAS_ACCOUNTS)
    assert cockpit("import", "accounts", first, "--db", db)[0] == 0
    code, _, err = cockpit("import", "accounts", first, "--db", db)
    assert code == 0, err
    assert "0 inserted, 0 updated, 2 unchanged" in err
    # Another file about A-2: its country is added, its industry dropped with --map, the rest stay.
    later = write(tmp_path / "later.csv", "Account ID,Industry,Country,Employee Band\nA-2,Retail,FR,51-200\n")
    code, _, err = cockpit("import", "accounts", later, "--db", db, "--map", "Industry=")
    assert code == 0, err
    assert "1 updated" in err
    assert custom(db)["A-2"] == {
        "industry": "EdTech",
        "country": "FR",
        "employee_band": "51-200",
        "referral_source": "ads",
        "is_trial": "True",
        "churn_flag": "False",
    }
    assert cockpit("import", "accounts", later, "--db", db, "--map", "Industry=")[2].count("1 unchanged") == 1


def test_jsonl_values_are_kept_as_text(db: Path, tmp_path: Path) -> None:
    source = write(
        tmp_path / "companies.jsonl",
        json.dumps({"id": "A-9", "name": "Initech", "employees": 120, "public": True, "tags": ["b2b"]})
        + "\n",
    )
    code, _, err = cockpit("import", "accounts", source, "--db", db)
    assert code == 0, err
    assert custom(db) == {"A-9": {"employees": "120", "public": "true", "tags": '["b2b"]'}}


def test_two_columns_kept_under_one_key_are_refused(db: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "a.csv", "id,name,Industry,industry\nA-1,Acme,x,y\n")
    code, _, err = cockpit("import", "accounts", source, "--db", db)
    assert code == 2
    assert "columns 'Industry' and 'industry' would both be kept as custom field 'industry'" in err
    assert "--map 'industry='" in err


def listed(db: Path, *options: str | Path) -> list[str]:
    code, out, err = cockpit("accounts", "list", "--json", "--db", db, *options)
    assert code == 0, err
    return [json.loads(line)["id"] for line in out.splitlines()]


VIEWS = """
[[ui.views]]
name = "Fintech"
custom = { industry = ["fintech"] }
sort = "name"
"""


def test_custom_fields_filter_the_book_by_option_typed_filter_and_view(db: Path, tmp_path: Path) -> None:
    assert cockpit("import", "accounts", write(tmp_path / "accounts.csv", SAAS_ACCOUNTS), "--db", db)[0] == 0
    assert listed(db) == ["A-1", "A-2"]
    assert listed(db, "--custom", "industry=FINTECH") == ["A-1"]
    assert listed(db, "--custom", "industry=fintech,edtech", "--custom", "referral_source=ads") == ["A-2"]
    assert listed(db, "--custom", "country=FR") == []
    config = write(tmp_path / "config.toml", VIEWS)
    assert listed(db, "--config", config, "--view", "Fintech") == ["A-1"]
    # An option on the same key replaces the view's; another key narrows it further.
    assert listed(db, "--config", config, "--view", "Fintech", "--custom", "industry=EdTech") == ["A-2"]
    assert listed(db, "--config", config, "--view", "Fintech", "--custom", "country=FR") == []
    code, _, err = cockpit("accounts", "list", "--db", db, "--custom", "Industry Name=x")
    assert code == 2 and "'Industry Name' is not a custom field key" in err


def test_the_typed_filter_names_custom_fields(db: Path) -> None:
    from datetime import date

    from cockpit.config import load_settings
    from cockpit.services.views import FilterError, split_search

    settings, today = load_settings(), date(2026, 11, 25)
    search, fields = split_search("acme custom.industry:FinTech,EdTech churn:high", settings, today)
    assert search == "acme"
    assert fields == {"custom": (("industry", ("FinTech", "EdTech")),), "churn_tiers": ("high",)}
    with pytest.raises(FilterError, match="needs a value"):
        split_search("custom.industry:", settings, today)


def test_account_view_reads_the_custom_fields(db: Path, tmp_path: Path) -> None:
    from cockpit.store.scoring import account_view

    assert cockpit("import", "accounts", write(tmp_path / "accounts.csv", SAAS_ACCOUNTS), "--db", db)[0] == 0
    store = open_store(db)
    try:
        view = account_view(store.db, "A-2")
    finally:
        store.close()
    assert view is not None
    assert view.custom == {
        "industry": "EdTech",
        "referral_source": "ads",
        "is_trial": "True",
        "churn_flag": "False",
    }


PLAYBOOK = """
[[outreach.playbooks]]
id = "fintech-check-in"
title = "Check in with fintech accounts"
trigger = "custom.industry == 'FinTech' and custom.referral_source in ['partner', 'event']"
about = "account"
channel = "todo"
template = "check-in"
priority = 1
cooldown_days = 30

[outreach.templates.check-in]
subject = "Check in with {{ account.name }}"
body = "{{ account.name }}"
"""


def test_a_playbook_triggers_on_a_custom_field(db: Path, tmp_path: Path) -> None:
    assert cockpit("import", "accounts", write(tmp_path / "accounts.csv", SAAS_ACCOUNTS), "--db", db)[0] == 0
    config = write(tmp_path / "config.toml", PLAYBOOK)
    assert cockpit("score", "--as-of", "2026-11-25", "--db", db)[0] == 0
    code, _out, err = cockpit("outreach", "plan", "--as-of", "2026-11-25", "--db", db, "--config", config)
    assert code == 0, err
    planned = rows(db, "SELECT account_id, playbook FROM outreach")
    assert planned == [("A-1", "fintech-check-in")]
