"""The schema, as an ordered list of migrations (sqlite-utils `Migrations`, recorded in `_sqlite_migrations`).

Never edit a migration that has shipped: add a new one. Each runs in one transaction with its record.
Dates are ISO 8601 text (`YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SS[+zone]` where the time matters) so that
text order is time order; money is REAL in the book's currency; JSON columns hold objects as text.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Final

from cockpit.store.book import _score_runs, record_unscored, restage
from cockpit.store.sqlite import Database, Migrations

MIGRATION_SET = "cockpit"

migrations = Migrations(MIGRATION_SET)


def _run(db: Database, script: str) -> None:
    """Run a script statement by statement inside the migration's transaction (executescript commits)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        db.execute(statement)


@migrations(name="0001_initial")
def initial(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            hubspot_id TEXT UNIQUE,
            salesforce_id TEXT UNIQUE,
            name TEXT NOT NULL,
            domain TEXT,
            owner TEXT,
            segment TEXT,
            plan TEXT,
            mrr REAL NOT NULL DEFAULT 0 CHECK (mrr >= 0),
            arr REAL GENERATED ALWAYS AS (mrr * 12) VIRTUAL,
            seats INTEGER CHECK (seats >= 0),
            start_date TEXT,
            renewal_date TEXT,
            churned_on TEXT,
            cac REAL CHECK (cac >= 0),
            lifecycle_stage TEXT,
            custom TEXT NOT NULL DEFAULT '{}',
            deleted_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX accounts_name ON accounts (name COLLATE NOCASE);
        CREATE INDEX accounts_domain ON accounts (domain COLLATE NOCASE);
        CREATE INDEX accounts_owner ON accounts (owner COLLATE NOCASE, name COLLATE NOCASE);
        CREATE INDEX accounts_plan ON accounts (plan COLLATE NOCASE, name COLLATE NOCASE);
        CREATE INDEX accounts_mrr ON accounts (mrr, name COLLATE NOCASE);
        CREATE INDEX accounts_renewal ON accounts (renewal_date, name COLLATE NOCASE);

        CREATE TABLE contacts (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts (id),
            hubspot_id TEXT UNIQUE,
            salesforce_id TEXT UNIQUE,
            name TEXT NOT NULL,
            email TEXT,
            role TEXT,
            phone TEXT,
            birthday TEXT,
            email_opt_in INTEGER NOT NULL DEFAULT 0 CHECK (email_opt_in IN (0, 1)),
            do_not_contact INTEGER NOT NULL DEFAULT 0 CHECK (do_not_contact IN (0, 1)),
            personalization_consent INTEGER NOT NULL DEFAULT 0 CHECK (personalization_consent IN (0, 1)),
            field_sources TEXT NOT NULL DEFAULT '{}',
            deleted_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX contacts_account ON contacts (account_id);
        CREATE INDEX contacts_email ON contacts (email COLLATE NOCASE);

        CREATE TABLE products (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            family TEXT,
            list_price REAL CHECK (list_price >= 0)
        );

        CREATE TABLE features (
            id TEXT PRIMARY KEY,
            product_id TEXT NOT NULL REFERENCES products (id),
            name TEXT NOT NULL
        );
        CREATE INDEX features_product ON features (product_id);

        CREATE TABLE product_complements (
            product_id TEXT NOT NULL REFERENCES products (id),
            complement_id TEXT NOT NULL REFERENCES products (id),
            reason TEXT NOT NULL,
            PRIMARY KEY (product_id, complement_id),
            CHECK (product_id <> complement_id)
        );

        CREATE TABLE entitlements (
            account_id TEXT NOT NULL REFERENCES accounts (id),
            product_id TEXT NOT NULL REFERENCES products (id),
            started_on TEXT NOT NULL,
            ended_on TEXT,
            seats INTEGER CHECK (seats >= 0),
            PRIMARY KEY (account_id, product_id)
        );
        CREATE INDEX entitlements_product ON entitlements (product_id);

        -- The big table. Its primary key is the event's identity (imports deduplicate on it) and clusters
        -- the rows by account, feature and time, which is the order scoring reads them in. An unknown
        -- contact or source id is stored as '' so that the identity stays unique (NULLs never collide).
        CREATE TABLE usage_events (
            account_id TEXT NOT NULL REFERENCES accounts (id),
            feature_id TEXT NOT NULL REFERENCES features (id),
            occurred_at TEXT NOT NULL,
            contact_id TEXT NOT NULL DEFAULT '',
            source_id TEXT NOT NULL DEFAULT '',
            count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 0),
            PRIMARY KEY (account_id, feature_id, occurred_at, contact_id, source_id)
        ) WITHOUT ROWID;

        CREATE TABLE signals (
            id INTEGER PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts (id),
            contact_id TEXT REFERENCES contacts (id),
            kind TEXT NOT NULL CHECK (kind IN (
                'cancel_page_visit', 'cancel_click', 'support_ticket', 'escalation', 'email_sent',
                'email_opened', 'email_clicked', 'login', 'nps', 'csat', 'referral', 'review'
            )),
            occurred_at TEXT NOT NULL,
            value REAL,
            payload TEXT NOT NULL DEFAULT '{}',
            source_id TEXT NOT NULL DEFAULT '',
            UNIQUE (account_id, kind, occurred_at, source_id)
        );
        CREATE INDEX signals_account_time ON signals (account_id, occurred_at);
        CREATE INDEX signals_kind_time ON signals (kind, occurred_at);

        CREATE TABLE tickets (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts (id),
            contact_id TEXT REFERENCES contacts (id),
            opened_at TEXT NOT NULL,
            closed_at TEXT,
            priority TEXT CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'solved', 'closed')),
            escalated INTEGER NOT NULL DEFAULT 0 CHECK (escalated IN (0, 1)),
            subject TEXT
        );
        CREATE INDEX tickets_account_time ON tickets (account_id, opened_at);

        CREATE TABLE surveys (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts (id),
            contact_id TEXT REFERENCES contacts (id),
            kind TEXT NOT NULL CHECK (kind IN ('nps', 'csat')),
            score INTEGER NOT NULL,
            responded_at TEXT NOT NULL,
            comment TEXT,
            CHECK ((kind = 'nps' AND score BETWEEN 0 AND 10) OR (kind = 'csat' AND score BETWEEN 1 AND 5))
        );
        CREATE INDEX surveys_account_time ON surveys (account_id, responded_at);

        CREATE TABLE transactions (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts (id),
            occurred_at TEXT NOT NULL,
            amount REAL NOT NULL
        );
        CREATE INDEX transactions_account_time ON transactions (account_id, occurred_at);

        -- Interactions and outreach carry a stable sync_key from birth: the CRM upsert key that makes a
        -- retried push update instead of duplicate.
        CREATE TABLE interactions (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts (id),
            contact_id TEXT REFERENCES contacts (id),
            kind TEXT NOT NULL CHECK (kind IN ('call', 'meeting', 'email', 'note', 'qbr')),
            direction TEXT NOT NULL DEFAULT 'outbound' CHECK (direction IN ('inbound', 'outbound', 'internal')),
            occurred_at TEXT NOT NULL,
            summary TEXT NOT NULL,
            sentiment TEXT CHECK (sentiment IN ('positive', 'neutral', 'negative')),
            author TEXT,
            follow_up_on TEXT,
            sync_key TEXT NOT NULL UNIQUE,
            hubspot_id TEXT,
            salesforce_id TEXT,
            sync_state TEXT NOT NULL DEFAULT 'pending' CHECK (sync_state IN ('pending', 'synced', 'failed', 'local')),
            sync_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX interactions_account_time ON interactions (account_id, occurred_at);
        CREATE INDEX interactions_contact_time ON interactions (contact_id, occurred_at);
        CREATE INDEX interactions_sync_state ON interactions (sync_state);

        CREATE TABLE outreach (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts (id),
            contact_id TEXT REFERENCES contacts (id),
            playbook TEXT NOT NULL,
            channel TEXT NOT NULL CHECK (channel IN ('email', 'call_task', 'todo')),
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN (
                'draft', 'approved', 'sent', 'synced', 'failed', 'cancelled', 'snoozed'
            )),
            due_on TEXT NOT NULL,
            snoozed_until TEXT,
            dedupe_key TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '{}',
            priority INTEGER NOT NULL DEFAULT 0,
            sync_key TEXT NOT NULL UNIQUE,
            hubspot_id TEXT,
            salesforce_id TEXT,
            sync_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        -- One open item per account, playbook and reason.
        CREATE UNIQUE INDEX outreach_open_dedupe ON outreach (dedupe_key)
            WHERE status IN ('draft', 'approved', 'snoozed');
        CREATE INDEX outreach_account ON outreach (account_id, due_on);
        CREATE INDEX outreach_contact_due ON outreach (contact_id, due_on);
        CREATE INDEX outreach_status ON outreach (status, due_on);

        CREATE TABLE score_runs (
            id INTEGER PRIMARY KEY,
            as_of TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            accounts INTEGER NOT NULL DEFAULT 0,
            settings TEXT NOT NULL DEFAULT '{}'
        );

        CREATE TABLE scores (
            run_id INTEGER NOT NULL REFERENCES score_runs (id),
            account_id TEXT NOT NULL REFERENCES accounts (id),
            as_of TEXT NOT NULL,
            health REAL CHECK (health BETWEEN 0 AND 100),
            health_band TEXT CHECK (health_band IN ('green', 'yellow', 'red')),
            components TEXT NOT NULL DEFAULT '{}',
            adoption_status TEXT CHECK (adoption_status IN ('not started', 'onboarding', 'adopted', 'power')),
            adoption_share REAL CHECK (adoption_share BETWEEN 0 AND 1),
            churn_risk REAL CHECK (churn_risk BETWEEN 0 AND 1),
            churn_tier TEXT CHECK (churn_tier IN ('high', 'medium', 'low')),
            value_tier TEXT CHECK (value_tier IN ('high', 'medium', 'other')),
            priority TEXT,
            cross_sell_ready INTEGER CHECK (cross_sell_ready IN (0, 1)),
            cross_sell_product TEXT REFERENCES products (id),
            advocacy TEXT CHECK (advocacy IN ('lover', 'liker', 'lurker')),
            clv REAL,
            clv_low REAL,
            clv_high REAL,
            explanation TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (run_id, account_id)
        );
        CREATE INDEX scores_account_time ON scores (account_id, as_of);

        CREATE TABLE sync_runs (
            id INTEGER PRIMARY KEY,
            crm TEXT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('pull', 'push', 'both')),
            dry_run INTEGER NOT NULL DEFAULT 0 CHECK (dry_run IN (0, 1)),
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'partial', 'failed', 'stopped')),
            counts TEXT NOT NULL DEFAULT '{}',
            errors TEXT NOT NULL DEFAULT '[]',
            report TEXT NOT NULL DEFAULT '{}'
        );

        CREATE TABLE sync_items (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES sync_runs (id),
            crm TEXT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('pull', 'push')),
            object_type TEXT NOT NULL,
            local_id TEXT,
            crm_id TEXT,
            action TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'conflict', 'skipped')),
            error TEXT,
            at TEXT NOT NULL
        );
        CREATE INDEX sync_items_run ON sync_items (run_id);
        CREATE INDEX sync_items_local ON sync_items (object_type, local_id);

        CREATE TABLE sync_watermarks (
            crm TEXT NOT NULL,
            object_type TEXT NOT NULL,
            watermark TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (crm, object_type)
        )
        """,
    )


@migrations(name="0002_import_runs")
def import_runs(db: Database) -> None:
    """Each import is recorded, and events remember the import and the row that last wrote them: where a
    number came from, and how a bulk import tells an event it wrote itself from a duplicate in its own files
    or one that was there before. `import_row` is the file's index in the import times 2**32 plus the row."""
    _run(
        db,
        """
        CREATE TABLE import_runs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            sources TEXT NOT NULL DEFAULT '[]',
            started_at TEXT NOT NULL,
            finished_at TEXT,
            counts TEXT NOT NULL DEFAULT '{}'
        );
        ALTER TABLE usage_events ADD COLUMN import_id INTEGER;
        ALTER TABLE usage_events ADD COLUMN import_row INTEGER;
        ALTER TABLE signals ADD COLUMN import_id INTEGER;
        ALTER TABLE signals ADD COLUMN import_row INTEGER
        """,
    )


@migrations(name="0007_score_order")
def score_order(db: Database) -> None:
    """An index per score the book sorts by, led by the run: the first page of a 100,000-account book
    sorted by a score reads one index range instead of sorting the whole run. The expressions are those of
    the book's ORDER BY (`store/book.py`), which SQLite matches to use them."""
    _run(
        db,
        """
        CREATE INDEX scores_run_health ON scores (run_id, health);
        CREATE INDEX scores_run_churn ON scores (run_id, churn_risk);
        CREATE INDEX scores_run_value ON scores (run_id, (
            CASE value_tier WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 WHEN 'other' THEN 2 END
        ));
        CREATE INDEX scores_run_priority ON scores (run_id, (
            CASE churn_tier WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 WHEN 'other' THEN 2 END * 3
            + CASE value_tier WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 WHEN 'other' THEN 2 END
        ));
        CREATE INDEX scores_run_adoption ON scores (run_id, (
            CASE adoption_status WHEN 'power' THEN 0 WHEN 'adopted' THEN 1 WHEN 'onboarding' THEN 2
                WHEN 'not started' THEN 3 END
        ));
        CREATE INDEX scores_run_cross_sell ON scores (run_id, cross_sell_ready)
        """,
    )


@migrations(name="0003_clv")
def clv_tables(db: Database) -> None:
    """Lifetime values: each `cockpit clv fit` is a run (`clv_runs`) with its model fits per segment
    (`clv_fits`: parameters, standard errors, the log-parameters' covariance, log-likelihood) and one value
    per account (`clv_values`). `clv_latest` is the latest finished run's values, for the book to join; the
    (run_id, clv) index serves a book sorted by CLV."""
    _run(
        db,
        """
        CREATE TABLE clv_runs (
            id INTEGER PRIMARY KEY,
            as_of TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            accounts INTEGER NOT NULL DEFAULT 0,
            settings TEXT NOT NULL DEFAULT '{}',
            notes TEXT NOT NULL DEFAULT '[]'
        );

        CREATE TABLE clv_fits (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES clv_runs (id),
            model TEXT NOT NULL CHECK (model IN ('sbg', 'geometric', 'bgnbd', 'bgnbd_homogeneous', 'gamma_gamma')),
            segment TEXT,
            params TEXT NOT NULL,
            std_errors TEXT NOT NULL,
            covariance TEXT NOT NULL,
            log_likelihood REAL NOT NULL,
            n INTEGER NOT NULL,
            converged INTEGER NOT NULL CHECK (converged IN (0, 1)),
            diagnostics TEXT NOT NULL DEFAULT '{}',
            fitted_at TEXT NOT NULL
        );
        CREATE INDEX clv_fits_run ON clv_fits (run_id);

        CREATE TABLE clv_values (
            run_id INTEGER NOT NULL REFERENCES clv_runs (id),
            account_id TEXT NOT NULL REFERENCES accounts (id),
            model TEXT NOT NULL CHECK (model IN ('sbg', 'bgnbd', 'sbg+bgnbd', 'churned', 'none')),
            sbg_fit_id INTEGER REFERENCES clv_fits (id),
            bgnbd_fit_id INTEGER REFERENCES clv_fits (id),
            spend_fit_id INTEGER REFERENCES clv_fits (id),
            clv REAL,
            clv_low REAL,
            clv_high REAL,
            subscription_clv REAL,
            orders_clv REAL,
            renewals INTEGER,
            renewal_probability REAL CHECK (renewal_probability BETWEEN 0 AND 1),
            derl REAL,
            p_alive REAL CHECK (p_alive BETWEEN 0 AND 1),
            expected_purchases REAL,
            p_no_purchase REAL CHECK (p_no_purchase BETWEEN 0 AND 1),
            expected_spend REAL,
            realised REAL,
            ltv_cac REAL,
            PRIMARY KEY (run_id, account_id)
        );
        CREATE INDEX clv_values_account ON clv_values (account_id, run_id);
        CREATE INDEX clv_values_run_clv ON clv_values (run_id, clv);

        CREATE VIEW clv_latest AS
            SELECT v.* FROM clv_values v
            WHERE v.run_id = (SELECT max(id) FROM clv_runs WHERE finished_at IS NOT NULL)
        """,
    )


@migrations(name="0006_sync")
def sync_state(db: Database) -> None:
    """CRM sync bookkeeping beyond 0001's runs, items and watermarks.

    - `sync_pushes`: each outbox item's state in each CRM. `in_flight` is written before the request goes
      out, so a run killed mid-push leaves a mark and the next run upserts by the sync key again;
      `pushed_version` is the item's `updated_at` that the CRM has, so an edited item goes out again.
      `attempts` counts the CRM's refusals; at `sync.max_item_attempts` the item is `failed`.
    - `sync_snapshots`: the values of each pulled record as both sides last agreed, per CRM; a field that
      differs from it on both sides is a conflict, not an overwrite.
    - `sync_conflicts`: those fields, open until the CSM keeps one side.
    - `sync_crm_state`: what `cockpit sync setup` found out about a CRM (never a secret).
    """
    _run(
        db,
        """
        CREATE TABLE sync_pushes (
            crm TEXT NOT NULL,
            item_type TEXT NOT NULL CHECK (item_type IN ('interaction', 'outreach')),
            local_id TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('in_flight', 'synced', 'error', 'failed')),
            crm_object TEXT,
            crm_id TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            pushed_version TEXT,
            run_id INTEGER REFERENCES sync_runs (id),
            updated_at TEXT NOT NULL,
            PRIMARY KEY (crm, item_type, local_id)
        );
        CREATE INDEX sync_pushes_state ON sync_pushes (crm, state);

        CREATE TABLE sync_snapshots (
            crm TEXT NOT NULL,
            object_type TEXT NOT NULL CHECK (object_type IN ('accounts', 'contacts')),
            crm_id TEXT NOT NULL,
            local_id TEXT NOT NULL,
            fields TEXT NOT NULL DEFAULT '{}',
            crm_modified_at TEXT NOT NULL,
            synced_at TEXT NOT NULL,
            PRIMARY KEY (crm, object_type, crm_id)
        );

        CREATE TABLE sync_conflicts (
            id INTEGER PRIMARY KEY,
            crm TEXT NOT NULL,
            object_type TEXT NOT NULL CHECK (object_type IN ('accounts', 'contacts')),
            local_id TEXT NOT NULL,
            crm_id TEXT NOT NULL,
            field TEXT NOT NULL,
            base_value TEXT,
            local_value TEXT,
            crm_value TEXT,
            run_id INTEGER REFERENCES sync_runs (id),
            detected_at TEXT NOT NULL,
            resolved_at TEXT,
            resolution TEXT CHECK (resolution IN ('local', 'crm'))
        );
        CREATE UNIQUE INDEX sync_conflicts_open ON sync_conflicts (crm, object_type, local_id, field)
            WHERE resolved_at IS NULL;

        CREATE TABLE sync_crm_state (
            crm TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (crm, key)
        );
        CREATE INDEX sync_runs_started ON sync_runs (started_at)
        """,
    )


@migrations(name="0005_outreach")
def outreach_planning(db: Database) -> None:
    """Outreach planning and review (`cockpit/outreach/`).

    - `outreach_edits`: items whose text a CSM edited, with the text as the planner wrote it; the planner
      leaves an edited item's text alone.
    - `outreach_runs`: each planning run (`cockpit outreach plan`), its day, the score run it read and its
      counts; `outreach_skips`: the rules of the latest run that fired and queued nothing, with why (a
      cooldown, the contact policy, an empty token), so that "why no draft for this account?" has an answer.
    """
    _run(
        db,
        """
        CREATE TABLE outreach_edits (
            item_id TEXT PRIMARY KEY REFERENCES outreach (id),
            edited_at TEXT NOT NULL,
            planned_subject TEXT NOT NULL,
            planned_body TEXT NOT NULL
        );
        CREATE INDEX outreach_playbook ON outreach (playbook, status);

        CREATE TABLE outreach_runs (
            id INTEGER PRIMARY KEY,
            as_of TEXT NOT NULL,
            score_run_id INTEGER REFERENCES score_runs (id),
            started_at TEXT NOT NULL,
            finished_at TEXT,
            counts TEXT NOT NULL DEFAULT '{}'
        );

        CREATE TABLE outreach_skips (
            run_id INTEGER NOT NULL REFERENCES outreach_runs (id),
            account_id TEXT NOT NULL REFERENCES accounts (id),
            contact_id TEXT,
            playbook TEXT NOT NULL,
            dedupe_key TEXT,
            reason TEXT NOT NULL,
            trigger_values TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX outreach_skips_account ON outreach_skips (account_id)
        """,
    )


@migrations(name="0008_score_value")
def score_value(db: Database) -> None:
    """Each score keeps the value that ranked its account's value tier (ARR, or CLV), and the book's score
    indexes carry it and the account after the score: a sort by a score reads its first page straight off
    the index, ties included (biggest value first), with no sorting of a tier of 50,000 accounts."""
    _run(
        db,
        """
        ALTER TABLE scores ADD COLUMN value REAL;
        DROP INDEX scores_run_health;
        DROP INDEX scores_run_churn;
        DROP INDEX scores_run_value;
        DROP INDEX scores_run_priority;
        DROP INDEX scores_run_adoption;
        DROP INDEX scores_run_cross_sell;
        CREATE INDEX scores_run_health ON scores (run_id, health, value DESC, account_id);
        CREATE INDEX scores_run_churn ON scores (run_id, churn_risk, value DESC, account_id);
        CREATE INDEX scores_run_value ON scores (run_id, (
            CASE value_tier WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 WHEN 'other' THEN 2 END
        ), value DESC, account_id);
        CREATE INDEX scores_run_priority ON scores (run_id, (
            CASE churn_tier WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 WHEN 'other' THEN 2 END * 3
            + CASE value_tier WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 WHEN 'other' THEN 2 END
        ), value DESC, account_id);
        CREATE INDEX scores_run_adoption ON scores (run_id, (
            CASE adoption_status WHEN 'power' THEN 0 WHEN 'adopted' THEN 1 WHEN 'onboarding' THEN 2
                WHEN 'not started' THEN 3 END
        ), value DESC, account_id);
        CREATE INDEX scores_run_cross_sell ON scores (run_id, cross_sell_ready, value DESC, account_id)
        """,
    )


@migrations(name="0009_account_history")
def account_history(db: Database) -> None:
    """Outcomes a book can learn from: each account's contract term in months (`contract_months`), and the
    history of the fields that say what happened to it (`account_history`): a row whenever an import, a CRM
    pull or the command line changes its MRR, renewal date, plan, seats, contract term or churn day, with the
    day of the change and what made it (`import:ID`, `sync:RUN`, `cli`). `value` keeps the account column's
    own type (REAL, INTEGER, TEXT; NULL: cleared). History starts with one row per account and field it
    holds, its current value dated at the day the account was created."""
    _run(
        db,
        """
        ALTER TABLE accounts ADD COLUMN contract_months INTEGER CHECK (contract_months > 0);
        CREATE TABLE account_history (
            id INTEGER PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts (id),
            field TEXT NOT NULL CHECK (field IN (
                'mrr', 'renewal_date', 'plan', 'seats', 'contract_months', 'churned_on'
            )),
            value,
            changed_on TEXT NOT NULL,
            source TEXT NOT NULL
        );
        CREATE INDEX account_history_field ON account_history (field, account_id, changed_on);
        INSERT INTO account_history (account_id, field, value, changed_on, source)
            SELECT id, field, value, substr(created_at, 1, 10), 'created' FROM (
                SELECT id, created_at, 'mrr' AS field, mrr AS value FROM accounts
                UNION ALL SELECT id, created_at, 'renewal_date', renewal_date FROM accounts
                UNION ALL SELECT id, created_at, 'plan', plan FROM accounts
                UNION ALL SELECT id, created_at, 'seats', seats FROM accounts
                UNION ALL SELECT id, created_at, 'churned_on', churned_on FROM accounts
            ) WHERE value IS NOT NULL
            ORDER BY id, field
        """,
    )


@migrations(name="0010_churn_models")
def churn_models(db: Database) -> None:
    """Learned churn models (`cockpit churn fit`), kept as versioned runs: the day fitted as of, the horizon,
    when, how many snapshots, accounts and churned accounts it learned from, the model itself, its holdout
    metrics beside the rules', and the settings it was fitted with (JSON objects)."""
    _run(
        db,
        """
        CREATE TABLE churn_models (
            id INTEGER PRIMARY KEY,
            as_of TEXT NOT NULL,
            horizon_days INTEGER NOT NULL CHECK (horizon_days > 0),
            fitted_at TEXT NOT NULL,
            snapshots INTEGER NOT NULL CHECK (snapshots >= 0),
            accounts INTEGER NOT NULL CHECK (accounts >= 0),
            churned INTEGER NOT NULL CHECK (churned >= 0),
            model TEXT NOT NULL,
            metrics TEXT NOT NULL,
            settings TEXT NOT NULL
        )
        """,
    )


_BAND_CHECK = re.compile(r"CHECK \(health_band IN \(([^)]*)\)\)")
_SCORES_TABLE = re.compile(r'CREATE TABLE "?scores"? \(')


@migrations(name="0011_health_evidence")
def health_evidence(db: Database) -> None:
    """A health that rests on too little evidence has a band of its own, "insufficient" (shown as "not enough
    data"), which the CHECK on `scores.health_band` must allow. SQLite cannot change a CHECK in place, so the
    table is made again from its own definition (with whatever columns earlier migrations gave it) with the
    band added to the list, its rows copied over, and its indexes made again from theirs."""
    table = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'scores'").fetchone()[0]
    indexes = [
        sql
        for (sql,) in db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'scores' AND sql IS NOT NULL"
        )
    ]
    found, named = _BAND_CHECK.search(table), _SCORES_TABLE.match(table)
    if found is None or named is None:
        raise sqlite3.DatabaseError("the scores table is not as cockpit made it")
    rebuilt = f"{table[: found.start(1)]}{found.group(1)}, 'insufficient'{table[found.end(1) :]}"
    db.execute("CREATE TABLE scores_rebuilt (" + rebuilt[named.end() :])
    db.execute("INSERT INTO scores_rebuilt SELECT * FROM scores")
    db.execute("DROP TABLE scores")
    db.execute("ALTER TABLE scores_rebuilt RENAME TO scores")
    for sql in indexes:
        db.execute(sql)


@migrations(name="0019_run_terms")
def run_terms(db: Database) -> None:
    """A score run keeps the settings its explanations quote (`scoring.explain.Terms`, as JSON) once, in
    `score_runs.terms`, instead of each of its rows repeating them; runs stored before have none (NULL), their
    rows holding their terms themselves."""
    db.execute("ALTER TABLE score_runs ADD COLUMN terms TEXT")


@migrations(name="0020_history_segment")
def history_segment(db: Database) -> None:
    """An account's segment is kept in `account_history` too, so that the book as of a past day (a churn
    fit's snapshots, a scoring run as of that day) reads the segment it had then. The CHECK on
    `account_history.field` must allow it: SQLite cannot change a CHECK in place, so the table is made again
    with it, its rows copied over (ids kept) and its index made again. History of the segment starts as 0009
    started the others': one row per account that has one, its current value dated at the day it was
    created."""
    _run(
        db,
        """
        CREATE TABLE account_history_rebuilt (
            id INTEGER PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts (id),
            field TEXT NOT NULL CHECK (field IN (
                'mrr', 'renewal_date', 'plan', 'seats', 'contract_months', 'churned_on', 'segment'
            )),
            value,
            changed_on TEXT NOT NULL,
            source TEXT NOT NULL
        );
        INSERT INTO account_history_rebuilt (id, account_id, field, value, changed_on, source)
            SELECT id, account_id, field, value, changed_on, source FROM account_history;
        DROP TABLE account_history;
        ALTER TABLE account_history_rebuilt RENAME TO account_history;
        CREATE INDEX account_history_field ON account_history (field, account_id, changed_on);
        INSERT INTO account_history (account_id, field, value, changed_on, source)
            SELECT id, 'segment', segment, substr(created_at, 1, 10), 'created' FROM accounts
            WHERE segment IS NOT NULL
            ORDER BY id
        """,
    )


@migrations(name="0021_book_sort_indexes")
def book_sort_indexes(db: Database) -> None:
    """Indexes that let every read of the book walk an index in its exact order on a 100,000-account book
    (`store/book.py`), instead of sorting a large tie group or fetching each account's row to filter it:

    - the name order carries the id (its tie-breaker), the domain (searched) and the columns of the default
      views' filter (`deleted_at`, `churned_on`, `start_date`), so sorting by name, searching, counting and
      finding the accounts a run did not score read this index alone (it replaces `accounts_name`);
    - the MRR order of the accounts without a score (`mrr DESC, id`), with the same filter columns;
    - owner, plan and renewal date descending, each with the name ascending after it (their ties), which
      the ascending indexes cannot give in either direction.
    """
    _run(
        db,
        """
        DROP INDEX accounts_name;
        CREATE INDEX accounts_book_name ON accounts (
            name COLLATE NOCASE, id, domain, deleted_at, churned_on, start_date
        );
        CREATE INDEX accounts_book_mrr ON accounts (mrr DESC, id, deleted_at, churned_on, start_date);
        CREATE INDEX accounts_owner_descending ON accounts (owner COLLATE NOCASE DESC, name COLLATE NOCASE, id);
        CREATE INDEX accounts_plan_descending ON accounts (plan COLLATE NOCASE DESC, name COLLATE NOCASE, id);
        CREATE INDEX accounts_renewal_descending ON accounts (renewal_date DESC, name COLLATE NOCASE, id)
        """,
    )


@migrations(name="0022_plan_fingerprints")
def plan_fingerprints(db: Database) -> None:
    """Per account, a digest of everything the latest outreach plan read of it (with the day, the settings
    and the score values), so that planning again skips the accounts whose digest is the same
    (`cockpit.services.outreach`)."""
    db.execute(
        "CREATE TABLE plan_fingerprints (account_id TEXT PRIMARY KEY, digest BLOB NOT NULL) WITHOUT ROWID"
    )


@migrations(name="0023_compact_runs")
def compact_runs(db: Database) -> None:
    """Score runs that only the history reads keep their scores compact (`store/compact_scores.py`): the
    accounts numbered once (`score_keys`), each run one row of packed arrays (`compact_scores`). Only the
    tables: the runs stored before stay in full until `cockpit db compact` or the nightly pruning compacts
    them, so that opening an old book never waits minutes for a conversion it did not ask for."""
    _run(
        db,
        """
        CREATE TABLE score_keys (
            key INTEGER PRIMARY KEY,
            account_id TEXT NOT NULL UNIQUE
        );
        CREATE TABLE compact_scores (
            run_id INTEGER PRIMARY KEY REFERENCES score_runs (id),
            accounts INTEGER NOT NULL,
            keys BLOB NOT NULL,
            labels TEXT NOT NULL,
            codes BLOB NOT NULL,
            health BLOB NOT NULL,
            churn_risk BLOB NOT NULL
        )
        """,
    )


@migrations(name="0026_pull_engagements")
def pull_engagements(db: Database) -> None:
    """Engagements pulled from a CRM are matched to cockpit's own pushed items by the CRM id a push
    recorded: indexes on those ids, so a pull of tens of thousands stays a lookup each, not a scan."""
    _run(
        db,
        """
        CREATE INDEX interactions_hubspot_id ON interactions (hubspot_id) WHERE hubspot_id IS NOT NULL;
        CREATE INDEX interactions_salesforce_id ON interactions (salesforce_id) WHERE salesforce_id IS NOT NULL;
        CREATE INDEX outreach_hubspot_id ON outreach (hubspot_id) WHERE hubspot_id IS NOT NULL;
        CREATE INDEX outreach_salesforce_id ON outreach (salesforce_id) WHERE salesforce_id IS NOT NULL;
        CREATE INDEX sync_pushes_crm_id ON sync_pushes (crm, crm_id) WHERE crm_id IS NOT NULL
        """,
    )


@migrations(name="0027_import_kept_fields")
def import_kept_fields(db: Database) -> None:
    """What imports keep beyond the account's own row: its subscriptions (the current one sets the account's
    plan, MRR and seats; the others are its history) and its churn events (the latest sets its churn day)."""
    _run(
        db,
        """
        CREATE TABLE subscriptions (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts (id),
            plan TEXT,
            mrr REAL CHECK (mrr >= 0),
            seats INTEGER CHECK (seats >= 0),
            started_on TEXT NOT NULL,
            ended_on TEXT,
            status TEXT
        );
        CREATE INDEX subscriptions_account ON subscriptions (account_id, started_on);

        CREATE TABLE churn_events (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts (id),
            churned_on TEXT NOT NULL,
            reason TEXT
        );
        CREATE INDEX churn_events_account ON churn_events (account_id, churned_on)
        """,
    )


@migrations(name="0028_account_aliases")
def account_aliases(db: Database) -> None:
    """An account's ids in other systems (a Stripe customer, a Zendesk organisation), by which a reference
    finds it as by its own id: each names one account, and is found by its value whatever its system."""
    _run(
        db,
        """
        CREATE TABLE account_aliases (
            system TEXT NOT NULL,
            value TEXT NOT NULL,
            account_id TEXT NOT NULL REFERENCES accounts (id),
            PRIMARY KEY (system, value)
        ) WITHOUT ROWID;
        CREATE INDEX account_aliases_value ON account_aliases (value);
        CREATE INDEX account_aliases_account ON account_aliases (account_id)
        """,
    )


@migrations(name="0029_field_provenance")
def field_provenance(db: Database) -> None:
    """Where each account field's value came from: the system (`hubspot`, `salesforce`; NULL: not known),
    what wrote it (`import:ID`, `sync:RUN`) and from which file, and the source's own time of its last change
    (`modified_at`, NULL where it gave none), which decides whether a value from another source is newer."""
    _run(
        db,
        """
        CREATE TABLE account_field_sources (
            account_id TEXT NOT NULL REFERENCES accounts (id),
            field TEXT NOT NULL,
            system TEXT,
            written_by TEXT NOT NULL,
            file TEXT,
            modified_at TEXT,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (account_id, field)
        ) WITHOUT ROWID
        """,
    )


@migrations(name="0031_tasks")
def tasks(db: Database) -> None:
    """The CSM's day (`cockpit today`): what is done with.

    - `follow_ups_done`: the follow-ups (the day an interaction asked to follow up on) the CSM marked done; a
      follow-up moved to another day changes the interaction's `follow_up_on`. A call task or to-do done is
      an outreach item of status `sent` (it went out: the next push files it in the CRM as completed).
    - an index on follow-ups by day, so that Today reads the due ones without reading every interaction.
    """
    _run(
        db,
        """
        CREATE TABLE follow_ups_done (
            interaction_id TEXT PRIMARY KEY REFERENCES interactions (id),
            done_at TEXT NOT NULL
        );
        CREATE INDEX interactions_follow_up ON interactions (follow_up_on) WHERE follow_up_on IS NOT NULL
        """,
    )


@migrations(name="0032_playbook_mutes")
def playbook_mutes(db: Database) -> None:
    """The playbooks the CSM muted for their book (`cockpit outreach mute`): planning queues nothing for
    them until they are unmuted."""
    db.execute(
        "CREATE TABLE playbook_mutes (playbook TEXT PRIMARY KEY, muted_at TEXT NOT NULL) WITHOUT ROWID"
    )


@migrations(name="0033_book_view_cache")
def book_view_cache(db: Database) -> None:
    """The last view of the book computed for each as-of day, comparison and filter (`services/book_view.py`),
    as JSON with a fingerprint of the data it read, so that the book screen paints at once from it and
    recomputes only when the data changed."""
    _run(
        db,
        """
        CREATE TABLE book_view_cache (
            key TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            computed_at TEXT NOT NULL,
            view TEXT NOT NULL
        )
        """,
    )


@migrations(name="0035_unscored_counts")
def unscored_counts(db: Database) -> None:
    """Two aids to the book's reads (`store/book.py`) on a 100,000-account book.

    `End` after a score sort starts with the accounts the latest run did not score, usually none among the
    customers a view shows: finding that out probed the run for every account (80 ms). The accounts a run
    did not score are kept with it when it finishes (`unscored_accounts`, for that run only), with how many
    accounts there were then and the last one's rowid (`unscored_counts`), which tell whether any came since.

    A deep jump into the book (a page by offset, `store/book.py`) walks every row it skips: on a
    100,000-account book, reading each one's account row for the views' filter took 100-150 ms. Each account
    order's index now carries the id and the filter's columns (`deleted_at`, `churned_on`, `start_date`), as
    the name's does (0021), MRR descending gets its own, and a score order (or the lifetime value's) finds each
    account's filter columns and name (a tie-breaker) in a slim index by id: skipping rows reads indexes
    only."""
    columns = "id, deleted_at, churned_on, start_date"
    _run(
        db,
        f"""
        CREATE TABLE unscored_accounts (
            run_id INTEGER NOT NULL,
            account_id TEXT NOT NULL,
            PRIMARY KEY (run_id, account_id)
        ) WITHOUT ROWID;
        CREATE TABLE unscored_counts (
            run_id INTEGER PRIMARY KEY,
            accounts INTEGER NOT NULL,
            last_rowid INTEGER NOT NULL
        );
        DROP INDEX accounts_owner;
        DROP INDEX accounts_plan;
        DROP INDEX accounts_mrr;
        DROP INDEX accounts_renewal;
        DROP INDEX accounts_owner_descending;
        DROP INDEX accounts_plan_descending;
        DROP INDEX accounts_renewal_descending;
        CREATE INDEX accounts_owner ON accounts (owner COLLATE NOCASE, name COLLATE NOCASE, {columns});
        CREATE INDEX accounts_plan ON accounts (plan COLLATE NOCASE, name COLLATE NOCASE, {columns});
        CREATE INDEX accounts_mrr ON accounts (mrr, name COLLATE NOCASE, {columns});
        CREATE INDEX accounts_renewal ON accounts (renewal_date, name COLLATE NOCASE, {columns});
        CREATE INDEX accounts_owner_descending ON accounts (owner COLLATE NOCASE DESC, name COLLATE NOCASE, {columns});
        CREATE INDEX accounts_plan_descending ON accounts (plan COLLATE NOCASE DESC, name COLLATE NOCASE, {columns});
        CREATE INDEX accounts_mrr_descending ON accounts (mrr DESC, name COLLATE NOCASE, {columns});
        CREATE INDEX accounts_renewal_descending ON accounts (renewal_date DESC, name COLLATE NOCASE, {columns});
        CREATE INDEX accounts_live ON accounts ({columns}, name COLLATE NOCASE)
        """,
    )
    current, _ = _score_runs(db)
    if current is not None:
        record_unscored(db, current)


@migrations(name="0036_stored_stage")
def stored_stage(db: Database) -> None:
    """Each score keeps its account's lifecycle stage, which the run decides by the pure rule
    (`scoring/lifecycle.py`), and an index ranks it like the other score orders (0008): sorting the book by
    stage walks the index instead of computing the stage of every account (0.4-0.6 s a page at 100,000).

    The stage also reads two account fields (the CRM's stage, the start date), which may change after the
    run: a trigger notes each account whose fields changed (`stage_changes`), the write's end restages it in
    the current run (`store/book.restage_changed`), and while any is noted (a write from another program)
    the book computes the stage in SQL as before. The current run's stages are written here (older runs'
    are only history: the book reads the current run)."""
    _run(
        db,
        """
        ALTER TABLE scores ADD COLUMN stage TEXT;
        CREATE INDEX scores_run_stage ON scores (run_id, (
            CASE stage WHEN 'onboarding' THEN 0 WHEN 'adoption' THEN 1 WHEN 'retention' THEN 2
                WHEN 'expansion' THEN 3 WHEN 'advocacy' THEN 4 END
        ), value DESC, account_id);
        CREATE TABLE stage_changes (account_id TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TRIGGER accounts_stage_inputs AFTER UPDATE OF lifecycle_stage, start_date ON accounts
        WHEN old.lifecycle_stage IS NOT new.lifecycle_stage OR old.start_date IS NOT new.start_date
        BEGIN
            INSERT OR IGNORE INTO stage_changes (account_id) VALUES (new.id);
        END
        """,
    )
    current, _ = _score_runs(db)
    if current is not None:
        restage(db, current)


@migrations(name="0040_follow_up_reads")
def follow_up_reads(db: Database) -> None:
    """Today's due follow-ups read from indexes alone (`store/today.py`). On a 100,000-account book the
    first follow-ups due are mostly settled by a later touch or of churned accounts, so finding the first
    200 open ones walks some 29,000: each read its interaction's row (for the account, the time and the id),
    and each later interaction's row (for its kind and direction) to see whether it was a touch; 0.2-0.3 s
    of CPU before Today could paint. The follow-up index now carries the account, the time and the id, and
    the account's interactions by time carry their kind and direction (it replaces the narrower index
    of 0001, which every query that used it can use as well): 0.09 s."""
    _run(
        db,
        """
        DROP INDEX interactions_follow_up;
        CREATE INDEX interactions_follow_up ON interactions (follow_up_on, account_id, occurred_at, id)
            WHERE follow_up_on IS NOT NULL;
        DROP INDEX interactions_account_time;
        CREATE INDEX interactions_account_time ON interactions (account_id, occurred_at, kind, direction)
        """,
    )


PLAN_TRACKED: Final = {
    "accounts": "id",
    "contacts": "account_id",
    "signals": "account_id",
    "interactions": "account_id",
    "entitlements": "account_id",
    "outreach": "account_id",
    "scores": "account_id",
}
"""The tables planning reads per account (`store.outreach.account_inputs`, `outreach_inputs`), with the
column that names the account: their rows changed or deleted since the last plan mark their accounts in
`plan_changes`, and rows added since are found by rowid (`plan_marks`)."""


_SCORES_READ: Final = (
    " OF run_id, account_id, as_of, health, health_band, churn_risk, churn_tier, value_tier, priority, "
    "adoption_status, adoption_share, cross_sell_ready, cross_sell_product, advocacy, explanation"
)
"""The score columns planning reads: a change of another (a lifetime value written later) plans nothing
again."""


def plan_change_triggers() -> list[str]:
    """The triggers that mark in `plan_changes` the accounts whose planning inputs were changed or deleted
    (not added: a row added has a rowid past the table's mark, found when planning starts, so that imports
    and score runs pay nothing). A score row counts only in the run the last plan read, and only a change of
    a column planning reads (`_SCORES_READ`); an interaction marks its contact's account too; a deleted row
    that was its table's last lowers the table's mark (SQLite may give its rowid to the next row)."""

    def marked(table: str, row: str) -> str:
        column = PLAN_TRACKED[table]
        only = " WHERE {0}.run_id = (SELECT score_run FROM plan_state)" if table == "scores" else ""
        found = f"INSERT OR IGNORE INTO plan_changes (account_id) SELECT {row}.{column}{only.format(row)};"
        if table == "interactions":
            found += (
                " INSERT OR IGNORE INTO plan_changes (account_id) "
                f"SELECT account_id FROM contacts WHERE id = {row}.contact_id;"
            )
        return found

    triggers = []
    for table in PLAN_TRACKED:
        triggers += [
            f"CREATE TRIGGER plan_changes_{table}_update AFTER UPDATE{_SCORES_READ if table == 'scores' else ''} "
            f"ON {table} "
            f"BEGIN {marked(table, 'OLD')} {marked(table, 'NEW')} END",
            f"CREATE TRIGGER plan_changes_{table}_delete AFTER DELETE ON {table} BEGIN {marked(table, 'OLD')} "
            f"UPDATE plan_marks SET mark = OLD.rowid - 1 WHERE tbl = '{table}' AND mark >= OLD.rowid "
            f"AND OLD.rowid > coalesce((SELECT max(rowid) FROM {table}), 0); END",
        ]
    item = "INSERT OR IGNORE INTO plan_changes (account_id) SELECT account_id FROM outreach WHERE id = {0}.item_id;"
    triggers += [
        f"CREATE TRIGGER plan_changes_outreach_edits_{event.lower()} AFTER {event} ON outreach_edits "
        f"BEGIN {' '.join(item.format(row) for row in rows)} END"
        for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",)))
    ]
    return triggers


@migrations(name="0041_plan_changes")
def plan_changes(db: Database) -> None:
    """What a replan needs to skip the accounts nothing happened to without reading them: the accounts whose
    planning inputs changed since the last plan (`plan_changes`, filled by triggers, emptied by each plan),
    each tracked table's last rowid at the last plan (`plan_marks`: rows added since are past it), and what
    that plan's fingerprints hold for every account alike (`plan_state`: the digest of the day, settings
    and catalogue, and the score run read). `cockpit.services.outreach` falls back to reading every
    account when any of it is missing."""
    _run(
        db,
        """
        CREATE TABLE plan_changes (account_id TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE plan_marks (tbl TEXT PRIMARY KEY, mark INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE plan_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            context BLOB NOT NULL,
            score_run INTEGER NOT NULL
        )
        """,
    )
    for trigger in plan_change_triggers():
        db.execute(trigger)


@migrations(name="0044_follow_up_tasks")
def follow_up_tasks(db: Database) -> None:
    """A CSM's follow-ups go to the CRM as tasks, through the outbox (`store/sync.py`): a third item type of
    `sync_pushes` (SQLite cannot widen a CHECK in place, so the table is made again with its rows and
    indexes), and `follow_up_moves`: when a follow-up was last moved to another day, which with its
    interaction's `updated_at` and the day it was marked done makes the follow-up's version: a move or a
    done goes to the CRM once. (A table of its own, beside `follow_ups_done`, rather than a column of
    interactions, whose columns the demo book's seed files hold.)"""
    _run(
        db,
        """
        CREATE TABLE sync_pushes_new (
            crm TEXT NOT NULL,
            item_type TEXT NOT NULL CHECK (item_type IN ('interaction', 'outreach', 'follow_up')),
            local_id TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('in_flight', 'synced', 'error', 'failed')),
            crm_object TEXT,
            crm_id TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            pushed_version TEXT,
            run_id INTEGER REFERENCES sync_runs (id),
            updated_at TEXT NOT NULL,
            PRIMARY KEY (crm, item_type, local_id)
        );
        INSERT INTO sync_pushes_new SELECT crm, item_type, local_id, state, crm_object, crm_id, attempts, error,
            pushed_version, run_id, updated_at FROM sync_pushes;
        DROP TABLE sync_pushes;
        ALTER TABLE sync_pushes_new RENAME TO sync_pushes;
        CREATE INDEX sync_pushes_state ON sync_pushes (crm, state);
        CREATE INDEX sync_pushes_crm_id ON sync_pushes (crm, crm_id) WHERE crm_id IS NOT NULL;
        CREATE TABLE follow_up_moves (
            interaction_id TEXT PRIMARY KEY REFERENCES interactions (id),
            moved_at TEXT NOT NULL
        )
        """,
    )


@migrations(name="0045_owner_in_slim_index")
def owner_in_slim_index(db: Database) -> None:
    """The slim index of the views' filter columns by id (0035) holds the owner too. A score order with an
    owner's view (My book) probed each account by id in the owner's index instead, which held the filter's
    columns where the slim one did not: every row the walk read scanned all the owner's accounts (3 s for a
    page of a 100,000-account book, minutes to count the accounts without a score). Now the slim index holds
    them all, SQLite seeks it by id, and a deep jump skips rows in indexes alone, as in the other views."""
    _run(
        db,
        """
        DROP INDEX accounts_live;
        CREATE INDEX accounts_live ON accounts (
            id, deleted_at, churned_on, start_date, name COLLATE NOCASE, owner COLLATE NOCASE
        )
        """,
    )


@migrations(name="0047_merged_records")
def merged_records(db: Database) -> None:
    """A record merged away in a CRM (a HubSpot merge, a Salesforce merge's losing record) is marked deleted
    as any deletion; this names the local record it was merged into, the CRM that merged it and when. A row
    a table of its own: merges are few, and the accounts and contacts tables keep their shape."""
    _run(
        db,
        """
        CREATE TABLE merged_records (
            tbl TEXT NOT NULL CHECK (tbl IN ('accounts', 'contacts')),
            local_id TEXT NOT NULL,
            winner_id TEXT NOT NULL,
            crm TEXT NOT NULL,
            merged_at TEXT NOT NULL,
            PRIMARY KEY (tbl, local_id)
        ) WITHOUT ROWID
        """,
    )


@migrations(name="0048_follow_ups_from_crm")
def follow_ups_from_crm(db: Database) -> None:
    """A follow-up's task changed in the CRM comes back (`services/sync/pull.py`): the values cockpit last
    pushed for it (`sync_pushes.pushed_values`: its day and whether done), against which a pulled task is
    merged field by field; when the CRM deleted the task (`crm_deleted_at`: it is never made again); where a
    done or a move came from (`source`: NULL for the CSM in cockpit, else the CRM) and why (`note`); and
    conflicts on follow-ups (`sync_conflicts` made again: SQLite cannot widen its CHECK in place)."""
    _run(
        db,
        """
        ALTER TABLE sync_pushes ADD COLUMN pushed_values TEXT;
        ALTER TABLE sync_pushes ADD COLUMN crm_deleted_at TEXT;
        ALTER TABLE follow_ups_done ADD COLUMN source TEXT;
        ALTER TABLE follow_ups_done ADD COLUMN note TEXT;
        ALTER TABLE follow_up_moves ADD COLUMN source TEXT;
        CREATE TABLE sync_conflicts_new (
            id INTEGER PRIMARY KEY,
            crm TEXT NOT NULL,
            object_type TEXT NOT NULL CHECK (object_type IN ('accounts', 'contacts', 'follow_ups')),
            local_id TEXT NOT NULL,
            crm_id TEXT NOT NULL,
            field TEXT NOT NULL,
            base_value TEXT,
            local_value TEXT,
            crm_value TEXT,
            run_id INTEGER REFERENCES sync_runs (id),
            detected_at TEXT NOT NULL,
            resolved_at TEXT,
            resolution TEXT CHECK (resolution IN ('local', 'crm'))
        );
        INSERT INTO sync_conflicts_new SELECT id, crm, object_type, local_id, crm_id, field, base_value,
            local_value, crm_value, run_id, detected_at, resolved_at, resolution FROM sync_conflicts;
        DROP TABLE sync_conflicts;
        ALTER TABLE sync_conflicts_new RENAME TO sync_conflicts;
        CREATE UNIQUE INDEX sync_conflicts_open ON sync_conflicts (crm, object_type, local_id, field)
            WHERE resolved_at IS NULL
        """,
    )


@migrations(name="0049_outreach_from_crm")
def outreach_from_crm(db: Database) -> None:
    """Queued outreach pushed as a CRM task comes back as a follow-up's task does (`services/sync/pull.py`),
    through the same `sync_pushes` columns (0048); its conflicts are of object `outreach` (`sync_conflicts`
    made again: SQLite cannot widen its CHECK in place). Who closed an item, and why, is in its `reason`
    already (`$.closed`)."""
    _run(
        db,
        """
        CREATE TABLE sync_conflicts_new (
            id INTEGER PRIMARY KEY,
            crm TEXT NOT NULL,
            object_type TEXT NOT NULL CHECK (object_type IN ('accounts', 'contacts', 'follow_ups', 'outreach')),
            local_id TEXT NOT NULL,
            crm_id TEXT NOT NULL,
            field TEXT NOT NULL,
            base_value TEXT,
            local_value TEXT,
            crm_value TEXT,
            run_id INTEGER REFERENCES sync_runs (id),
            detected_at TEXT NOT NULL,
            resolved_at TEXT,
            resolution TEXT CHECK (resolution IN ('local', 'crm'))
        );
        INSERT INTO sync_conflicts_new SELECT id, crm, object_type, local_id, crm_id, field, base_value,
            local_value, crm_value, run_id, detected_at, resolved_at, resolution FROM sync_conflicts;
        DROP TABLE sync_conflicts;
        ALTER TABLE sync_conflicts_new RENAME TO sync_conflicts;
        CREATE UNIQUE INDEX sync_conflicts_open ON sync_conflicts (crm, object_type, local_id, field)
            WHERE resolved_at IS NULL
        """,
    )
