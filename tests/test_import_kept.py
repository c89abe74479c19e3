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


SAAS_SUBSCRIPTIONS = (
    "subscription_id,account_id,start_date,end_date,plan_tier,seats,mrr_amount,arr_amount,is_trial,"
    "upgrade_flag,downgrade_flag,churn_flag,billing_frequency,auto_renew_flag\n"
    "S-1,A-1,2024-01-03,2025-01-03,Basic,10,500,6000,False,False,False,False,monthly,True\n"
    "S-2,A-1,2025-01-03,,Pro,20,1200,14400,False,True,False,False,annual,True\n"
    "S-3,A-2,2024-02-03,2024-08-03,Basic,5,250,3000,True,False,False,True,monthly,False\n"
    "S-4,A-2,2024-08-03,,Basic,5,,4800,False,False,False,False,annual,True\n"
)
SAAS_CHURN_EVENTS = (
    "churn_event_id,account_id,churn_date,reason_code,refund_amount_usd,preceding_upgrade_flag,"
    "preceding_downgrade_flag,is_reactivation,feedback_text\n"
    "C-1,A-2,2024-06-30,pricing,0,False,False,False,too expensive\n"
    "C-2,A-2,2026-10-31,budget,0,False,True,True,\n"
)


def test_subscriptions_set_plan_mrr_and_seats_from_the_current_one(db: Path, tmp_path: Path) -> None:
    assert cockpit("import", "accounts", write(tmp_path / "accounts.csv", SAAS_ACCOUNTS), "--db", db)[0] == 0
    source = write(tmp_path / "subscriptions.csv", SAAS_SUBSCRIPTIONS)
    code, _, err = cockpit("import", "subscriptions", source, "--db", db)
    assert code == 0, err
    assert "4 inserted" in err and "set the mrr, plan, seats of 2 account(s)" in err
    assert rows(db, "SELECT id, plan, mrr, seats FROM accounts ORDER BY id") == [
        ("A-1", "Pro", 1200.0, 20),
        ("A-2", "Basic", 400.0, 5),  # arr / 12
    ]
    assert rows(db, "SELECT id, account_id, plan, ended_on FROM subscriptions ORDER BY id")[0] == (
        "S-1",
        "A-1",
        "Basic",
        "2025-01-03",
    )
    assert ("A-1", "mrr", 1200.0) in rows(db, "SELECT account_id, field, value FROM account_history")
    code, _, err = cockpit("import", "subscriptions", source, "--db", db)
    assert code == 0 and "4 unchanged" in err and "set the" not in err


def test_churn_events_set_the_latest_churn_day(db: Path, tmp_path: Path) -> None:
    assert cockpit("import", "accounts", write(tmp_path / "accounts.csv", SAAS_ACCOUNTS), "--db", db)[0] == 0
    source = write(tmp_path / "churn_events.csv", SAAS_CHURN_EVENTS)
    code, _, err = cockpit("import", "churn_events", source, "--db", db)
    assert code == 0, err
    assert rows(db, "SELECT id, churned_on FROM accounts ORDER BY id") == [
        ("A-1", None),
        ("A-2", "2026-10-31"),
    ]
    assert rows(db, "SELECT id, reason FROM churn_events ORDER BY id") == [
        ("C-1", "pricing"),
        ("C-2", "budget"),
    ]
    assert "A-2" not in listed(db)  # churned: the views show customers


STRIPE_INVOICES = (
    "id,customer,customer_email,customer_name,currency,amount_due,amount_paid,amount_remaining,subtotal,total,"
    "status,created,period_start,period_end,number,subscription,billing_reason\n"
    "in_1,cus_NeZw,ann@acme.example,Acme,usd,4900,4900,0,4900,4900,paid,1732111380,1729519380,1732111380,"
    "AC-0001,sub_1,subscription_cycle\n"
    "in_2,cus_NeZw,ann@acme.example,Acme,usd,4900,0,4900,4900,4900,open,1734703380,1732111380,1734703380,"
    "AC-0002,sub_1,subscription_cycle\n"
    "in_3,A-2,billing@globex.example,Globex,usd,120050,120050,0,120050,120050,paid,1734703380,1732111380,"
    "1734703380,GX-0001,sub_2,subscription_create\n"
    "in_4,cus_Void,,Nobody,usd,900,0,900,900,900,void,1734703380,1732111380,1734703380,NB-0001,,manual\n"
)
"""Stripe invoices with the API's column names: amounts in cents, `created` in epoch seconds."""


def test_stripe_invoices_land_as_paid_transactions(db: Path, tmp_path: Path) -> None:
    assert cockpit("import", "accounts", write(tmp_path / "accounts.csv", SAAS_ACCOUNTS), "--db", db)[0] == 0
    contacts = "id,account,name,email\nc-1,A-1,Ann,ann@acme.example\n"
    assert cockpit("import", "contacts", write(tmp_path / "contacts.csv", contacts), "--db", db)[0] == 0
    source = write(tmp_path / "invoices.csv", STRIPE_INVOICES)
    code, _, err = cockpit("import", "transactions", source, "--db", db, "--profile", "stripe-invoices")
    assert code == 0, err
    assert "4 rows: 2 inserted, 0 updated, 0 unchanged, 0 rejected, 2 skipped" in err
    assert "1 rows skipped: invoices not paid (open)" in err and "(void)" in err
    # The Stripe customer is no account: the payer's email names it; the amounts are dollars, not cents.
    assert rows(db, "SELECT id, account_id, occurred_at, amount FROM transactions ORDER BY id") == [
        ("in_1", "A-1", "2024-11-20T14:03:00+00:00", 49.0),
        ("in_3", "A-2", "2024-12-20T14:03:00+00:00", 1200.5),
    ]
    code, _, err = cockpit("import", "transactions", source, "--db", db, "--profile", "stripe-invoices")
    assert code == 0 and "2 unchanged" in err


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        (
            "in_9,A-1,,eur,100,100,0,100,100,paid",
            "currency: the book's amounts are in USD (general.currency)",
        ),
        (
            "in_9,A-1,,usd,49.00,49.00,0,49,49,paid",
            "amount_paid: a whole number in the currency's smallest unit",
        ),
        ("in_9,cus_X,bo@globex.example,usd,100,100,0,100,100,paid", "no account for it"),
    ],
)
def test_stripe_invoices_never_land_a_wrong_amount(
    db: Path, tmp_path: Path, cells: str, problem: str
) -> None:
    assert cockpit("import", "accounts", write(tmp_path / "accounts.csv", SAAS_ACCOUNTS), "--db", db)[0] == 0
    header = (
        "id,customer,customer_email,currency,amount_due,amount_paid,amount_remaining,subtotal,total,status"
    )
    source = write(tmp_path / "invoices.csv", f"{header},created\n{cells},1732111380\n")
    code, _, err = cockpit("import", "transactions", source, "--db", db, "--profile", "stripe-invoices")
    assert code == 1 and problem in err, err
    assert rows(db, "SELECT count(*) FROM transactions") == [(0,)]


def test_a_stripe_customer_is_found_by_its_alias_and_a_payer_by_the_domain_of_their_email(
    db: Path, tmp_path: Path
) -> None:
    accounts = "id,name,domain,alias:stripe\nA-1,Acme,acme.example,cus_NeZw\nA-2,Globex,globex.example,\n"
    assert cockpit("import", "accounts", write(tmp_path / "accounts.csv", accounts), "--db", db)[0] == 0
    header = "id,customer,customer_email,currency,amount_paid,status,created"
    invoices = f"{header}\nin_1,cus_NeZw,,usd,4900,paid,1732111380\nin_2,cus_New,bo@globex.example,usd,100,paid,1732111380\n"
    source = write(tmp_path / "invoices.csv", invoices)
    code, _, err = cockpit("import", "transactions", source, "--db", db, "--profile", "stripe-invoices")
    assert code == 0, err
    assert rows(db, "SELECT id, account_id, amount FROM transactions ORDER BY id") == [
        ("in_1", "A-1", 49.0),
        ("in_2", "A-2", 1.0),
    ]
    # A customer that names two accounts is a bad row, not a traceback nor a pick.
    both = write(tmp_path / "both.csv", "id,name,alias:zendesk\nA-3,Initech,cus_NeZw\n")
    assert cockpit("import", "accounts", both, "--db", db)[0] == 0
    again = write(tmp_path / "again.csv", f"{header}\nin_3,cus_NeZw,,usd,100,paid,1732111380\n")
    code, _, err = cockpit("import", "transactions", again, "--db", db, "--profile", "stripe-invoices")
    assert code == 1
    assert "names more than one account: A-1 (by stripe alias) and A-3 (by zendesk alias)" in err


def test_a_subscription_id_names_its_account_among_every_other_way(db: Path, tmp_path: Path) -> None:
    assert cockpit("import", "accounts", write(tmp_path / "accounts.csv", SAAS_ACCOUNTS), "--db", db)[0] == 0
    subscriptions = write(tmp_path / "subscriptions.csv", SAAS_SUBSCRIPTIONS)
    assert cockpit("import", "subscriptions", subscriptions, "--db", db)[0] == 0
    assert (
        cockpit("import", "products", write(tmp_path / "p.csv", "id,name\ncore,Core\n"), "--db", db)[0] == 0
    )
    features = write(tmp_path / "f.csv", "id,product,name\nreports,core,Reports\n")
    assert cockpit("import", "features", features, "--db", db)[0] == 0
    usage = write(tmp_path / "usage.csv", "subscription_id,usage_date,feature_name\nS-2,2026-11-20,reports\n")
    code, _, err = cockpit("import", "usage", usage, "--db", db)
    assert code == 0, err
    # An account whose id is another account's subscription id: the reference names both.
    other = write(tmp_path / "other.csv", "id,name\nS-2,Sneaky\n")
    assert cockpit("import", "accounts", other, "--db", db)[0] == 0
    code, _, err = cockpit("import", "usage", usage, "--db", db)
    assert code == 1
    assert "names more than one account: S-2 (by id) and A-1 (by subscription id)" in err


def test_custom_fields_have_no_source_and_a_nested_object_read_by_a_path_is_not_kept(
    db: Path, tmp_path: Path
) -> None:
    record = {"id": "A-9", "name": "Initech", "properties": {"plan": "Pro"}, "region": "EU"}
    source = write(tmp_path / "companies.jsonl", json.dumps(record) + "\n")
    code, _, err = cockpit("import", "accounts", source, "--db", db, "--map", "properties.plan=plan")
    assert code == 0, err
    assert rows(db, "SELECT plan FROM accounts") == [("Pro",)]
    assert custom(db) == {"A-9": {"region": "EU"}}
    assert rows(db, "SELECT field FROM account_field_sources ORDER BY field") == [("name",), ("plan",)]


def test_the_readme_examples_run_as_written(db: Path, tmp_path: Path) -> None:
    import re
    import shlex

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    files = {
        "accounts.csv": SAAS_ACCOUNTS,
        "subscriptions.csv": SAAS_SUBSCRIPTIONS,
        "churn_events.csv": SAAS_CHURN_EVENTS,
        "invoices.csv": STRIPE_INVOICES.replace("cus_NeZw", "A-1"),
    }
    for name, text in files.items():
        write(tmp_path / name, text)
        kind = name.removesuffix(".csv")
        found = re.search(rf"`(cockpit import \w+ {re.escape(name)}[^`]*)`", readme)
        assert found is not None, f"the README shows an import of {name}"
        args = [str(tmp_path / arg) if arg == name else arg for arg in shlex.split(found.group(1))[1:]]
        code, _, err = cockpit(*args, "--db", db)
        assert code == 0, (kind, err)
    assert rows(db, "SELECT count(*) FROM subscriptions UNION ALL SELECT count(*) FROM transactions") == [
        (4,),
        (2,),
    ]
