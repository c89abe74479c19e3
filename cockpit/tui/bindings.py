"""Binding ids: the names users remap keys by, in `[ui.keymap]` of their config (binding id = "keys").

Ids are part of the config file's contract, so they never change once shipped. They use only letters,
digits and hyphens: a dot would turn the TOML key into a nested table.
"""

from __future__ import annotations

QUIT = "quit"
HELP = "help"
HELP_CLOSE = "help-close"
REFRESH = "refresh"
BOOK_SEARCH = "book-search"
BOOK_SEARCH_KEEP = "book-search-keep"
BOOK_SEARCH_CLEAR = "book-search-clear"
BOOK_NEXT_VIEW = "book-next-view"
BOOK_PREVIOUS_VIEW = "book-previous-view"
ACCOUNT_BACK = "account-back"
ACCOUNT_OVERVIEW = "account-overview"
ACCOUNT_JOURNEY = "account-journey"
ACCOUNT_CONTACTS = "account-contacts"
LOG_INTERACTION = "log-interaction"
BOOK_LOG_INTERACTION = "book-log-interaction"
BOOK_SYNC = "book-sync"
BOOK_OUTREACH = "book-outreach"
BOOK_SCORE_QUALITY = "book-score-quality"
SCORE_QUALITY_BACK = "score-quality-back"
BOOK_VIEW = "book-view"
BOOK_VIEW_BACK = "book-view-back"
BOOK_VIEW_MOVERS = "book-view-movers"
BOOK_VIEW_COMPARE = "book-view-compare"
BOOK_VIEW_REFRESH = "book-view-refresh"
BOOK_JOURNEYS = "book-journeys"
JOURNEYS_BACK = "journeys-back"
JOURNEYS_OUTCOME = "journeys-outcome"
PATH_BACK = "path-back"
OUTREACH_BACK = "outreach-back"
OUTREACH_MARK = "outreach-mark"
OUTREACH_APPROVE = "outreach-approve"
OUTREACH_EDIT = "outreach-edit"
OUTREACH_SNOOZE = "outreach-snooze"
OUTREACH_CANCEL = "outreach-cancel"
OUTREACH_ALL = "outreach-all"
OUTREACH_SEARCH = "outreach-search"
OUTREACH_SEARCH_KEEP = "outreach-search-keep"
OUTREACH_SEARCH_CLEAR = "outreach-search-clear"
ACCOUNT_OUTREACH_APPROVE = "account-outreach-approve"
ACCOUNT_OUTREACH_SNOOZE = "account-outreach-snooze"
ACCOUNT_OUTREACH_CANCEL = "account-outreach-cancel"
CONFIRM_YES = "confirm-yes"
CONFIRM_NO = "confirm-no"
EDIT_SAVE = "edit-save"
EDIT_CANCEL = "edit-cancel"
ACCOUNT_OUTREACH = "account-outreach"
SYNC_BACK = "sync-back"
SYNC_KEEP_LOCAL = "sync-keep-local"
SYNC_TAKE_CRM = "sync-take-crm"
SYNC_RETRY = "sync-retry"
SYNC_REFRESH = "sync-refresh"
FORM_SAVE = "form-save"
FORM_CANCEL = "form-cancel"
BOOK_TODAY = "book-today"
TODAY_BACK = "today-back"
TODAY_OPEN = "today-open"
TODAY_LOG = "today-log"
TODAY_DONE = "today-done"
TODAY_SNOOZE = "today-snooze"
TODAY_RESCHEDULE = "today-reschedule"
TODAY_REFRESH = "today-refresh"
DAY_CANCEL = "day-cancel"

BOOK_CURSOR_UP = "book-cursor-up"
BOOK_CURSOR_DOWN = "book-cursor-down"
BOOK_PAGE_UP = "book-page-up"
BOOK_PAGE_DOWN = "book-page-down"
BOOK_FIRST = "book-first"
BOOK_LAST = "book-last"
BOOK_SELECT = "book-select"
BOOK_SORT_NAME = "book-sort-name"
BOOK_SORT_OWNER = "book-sort-owner"
BOOK_SORT_HEALTH = "book-sort-health"
BOOK_SORT_CHURN = "book-sort-churn"
BOOK_SORT_VALUE = "book-sort-value"
BOOK_SORT_PRIORITY = "book-sort-priority"
BOOK_SORT_ADOPTION = "book-sort-adoption"
BOOK_SORT_CROSS_SELL = "book-sort-cross-sell"
BOOK_SORT_MRR = "book-sort-mrr"
BOOK_SORT_CLV = "book-sort-clv"
BOOK_SORT_RENEWAL = "book-sort-renewal"
BOOK_SORT_STAGE = "book-sort-stage"

BINDING_IDS: tuple[str, ...] = (
    QUIT,
    HELP,
    HELP_CLOSE,
    REFRESH,
    BOOK_SEARCH,
    BOOK_SEARCH_KEEP,
    BOOK_SEARCH_CLEAR,
    BOOK_NEXT_VIEW,
    BOOK_PREVIOUS_VIEW,
    ACCOUNT_BACK,
    ACCOUNT_OVERVIEW,
    ACCOUNT_JOURNEY,
    ACCOUNT_CONTACTS,
    LOG_INTERACTION,
    BOOK_LOG_INTERACTION,
    BOOK_SYNC,
    BOOK_OUTREACH,
    BOOK_SCORE_QUALITY,
    SCORE_QUALITY_BACK,
    BOOK_VIEW,
    BOOK_VIEW_BACK,
    BOOK_VIEW_MOVERS,
    BOOK_VIEW_COMPARE,
    BOOK_VIEW_REFRESH,
    BOOK_JOURNEYS,
    JOURNEYS_BACK,
    JOURNEYS_OUTCOME,
    PATH_BACK,
    OUTREACH_BACK,
    OUTREACH_MARK,
    OUTREACH_APPROVE,
    OUTREACH_EDIT,
    OUTREACH_SNOOZE,
    OUTREACH_CANCEL,
    OUTREACH_ALL,
    OUTREACH_SEARCH,
    OUTREACH_SEARCH_KEEP,
    OUTREACH_SEARCH_CLEAR,
    ACCOUNT_OUTREACH_APPROVE,
    ACCOUNT_OUTREACH_SNOOZE,
    ACCOUNT_OUTREACH_CANCEL,
    CONFIRM_YES,
    CONFIRM_NO,
    EDIT_SAVE,
    EDIT_CANCEL,
    ACCOUNT_OUTREACH,
    SYNC_BACK,
    SYNC_KEEP_LOCAL,
    SYNC_TAKE_CRM,
    SYNC_RETRY,
    SYNC_REFRESH,
    FORM_SAVE,
    FORM_CANCEL,
    BOOK_TODAY,
    TODAY_BACK,
    TODAY_OPEN,
    TODAY_LOG,
    TODAY_DONE,
    TODAY_SNOOZE,
    TODAY_RESCHEDULE,
    TODAY_REFRESH,
    DAY_CANCEL,
    BOOK_CURSOR_UP,
    BOOK_CURSOR_DOWN,
    BOOK_PAGE_UP,
    BOOK_PAGE_DOWN,
    BOOK_FIRST,
    BOOK_LAST,
    BOOK_SELECT,
    BOOK_SORT_NAME,
    BOOK_SORT_OWNER,
    BOOK_SORT_HEALTH,
    BOOK_SORT_CHURN,
    BOOK_SORT_VALUE,
    BOOK_SORT_PRIORITY,
    BOOK_SORT_ADOPTION,
    BOOK_SORT_CROSS_SELL,
    BOOK_SORT_MRR,
    BOOK_SORT_CLV,
    BOOK_SORT_RENEWAL,
    BOOK_SORT_STAGE,
)
"""Every binding id, for docs and tests."""
