"""An app over a fixed book in a temporary database."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cockpit.config import Settings, load_settings
from cockpit.store import Store
from cockpit.tui.app import CockpitApp
from tests.clocks import at

from .books import BOOK_DAY, Account, insert_accounts, make_accounts

MakeApp = Callable[..., tuple[CockpitApp, list[Account]]]


@pytest.fixture
def settings() -> Settings:
    return load_settings()


@pytest.fixture
def make_app(store: Store, settings: Settings) -> MakeApp:
    """Fill the store with `count` accounts and build an app over it; `ui` overrides `[ui]` settings."""

    def make(count: int, **ui: object) -> tuple[CockpitApp, list[Account]]:
        accounts = make_accounts(count)
        insert_accounts(store, accounts)
        app_settings = (
            settings.model_copy(update={"ui": settings.ui.model_copy(update=ui)}) if ui else settings
        )
        return CockpitApp(store, app_settings, clock=at(BOOK_DAY), db_label="book.db"), accounts

    return make
