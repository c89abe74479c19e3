"""The kinds of record `cockpit import` reads, by name, and what each holds: what the command line shows in its
help and completion without loading the record models and their rules (`cockpit.importer.kinds`)."""

from __future__ import annotations

from enum import StrEnum


class KindName(StrEnum):
    """The kinds, for the command line (the same names as KINDS), and `bundle`: every kind a folder holds."""

    accounts = "accounts"
    contacts = "contacts"
    products = "products"
    features = "features"
    complements = "complements"
    entitlements = "entitlements"
    usage = "usage"
    signals = "signals"
    tickets = "tickets"
    surveys = "surveys"
    interactions = "interactions"
    transactions = "transactions"
    subscriptions = "subscriptions"
    churn_events = "churn_events"
    bundle = "bundle"


KIND_SUMMARIES: dict[str, str] = {
    "accounts": "customer accounts, matched by id, HubSpot or Salesforce id, or domain",
    "contacts": "people at accounts, with their consent flags; matched by id, CRM id or email",
    "products": "the product catalogue",
    "features": "features of each product",
    "complements": "which product complements which, and why (for cross-sell)",
    "entitlements": "which account owns which product",
    "usage": "product usage events; deduplicated on account, feature, time, contact and source id",
    "signals": "churn and engagement signals (cancel-page visits, emails, NPS, referrals ...)",
    "tickets": "support tickets",
    "surveys": "NPS (0-10) and CSAT (1-5) responses",
    "interactions": "calls, meetings, emails, notes and QBRs with customers",
    "transactions": "orders and paid invoices with amounts, for lifetime-value models",
    "subscriptions": "subscriptions, several per account: the current one sets its plan, MRR and seats",
    "churn_events": "the day an account churned and why: the latest sets its churn day",
    "bundle": "a whole export folder: every file whose kind its name (or cockpit-bundle.toml) says, in one go",
}
