from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from cockpit import resources
from cockpit.config import Settings, load_settings, load_user_settings
from cockpit.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_defaults_validate() -> None:
    settings = load_settings()
    assert settings.health.weights.adoption == 0.25
    assert settings.ui.default_view == "All accounts"
    assert {view.name for view in settings.ui.views} >= {
        "My book",
        "Save now",
        "Renewals in 90 days",
        "Ready to cross-sell",
        "Advocates",
    }
    assert settings.priority.label("high", "high") == "save now"


NAMED_TABLES = ("outreach.templates.", "import.profiles.")
"""Tables of tables whose entries are documented once, above the first."""


def test_every_default_key_is_commented() -> None:
    """config.toml documents each setting: a comment in the key's paragraph, or, for arrays of tables and
    the templates, a comment block right above their first header."""
    lines = resources.default_config_file().read_text(encoding="utf-8").splitlines()
    documented_groups: set[str] = set()
    group = ""
    commented = False
    undocumented = []
    for line in (raw.strip() for raw in lines):
        if not line:
            commented = False
        elif line.startswith("#"):
            commented = True
        elif line.startswith("["):
            name = line.strip("[]")
            named = name.startswith(NAMED_TABLES)
            group = name.rsplit(".", 1)[0] if named else name
            if commented and (line.startswith("[[") or named):
                documented_groups.add(group)
        elif not commented and group not in documented_groups:
            undocumented.append(line)
    assert undocumented == []
    assert "outreach.playbooks" in documented_groups


def test_user_file_overrides_key_by_key(tmp_path: Path) -> None:
    user = write(tmp_path / "mine.toml", "[health.weights]\nadoption = 0.5\n\n[general]\nme = 'Dana'\n")
    settings = load_settings(user)
    assert settings.health.weights.adoption == 0.5
    assert settings.health.weights.recency == 0.15  # untouched sibling keeps its default
    assert settings.general.me == "Dana"
    assert settings.general.currency == "USD"


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    user = write(tmp_path / "mine.toml", "[health.weights]\nadoptoin = 0.5\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(user)
    assert f"{user}: health.weights.adoptoin: unknown key" in caught.value.message


def test_wrong_type_names_file_key_and_expectation(tmp_path: Path) -> None:
    user = write(tmp_path / "mine.toml", "[ui]\npage_size = 'lots'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(user)
    assert f"{user}: ui.page_size: input should be a valid integer (got 'lots')" in caught.value.message


def test_out_of_range_value(tmp_path: Path) -> None:
    user = write(tmp_path / "mine.toml", "[churn]\nhigh_min = 0.2\nmedium_min = 0.5\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(user)
    assert "medium_min must not exceed high_min" in caught.value.message


def test_invalid_toml_is_reported_with_position(tmp_path: Path) -> None:
    user = write(tmp_path / "mine.toml", "[ui\ntheme = 'x'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(user)
    assert str(user) in caught.value.message
    assert "line 1" in caught.value.message


def test_missing_named_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_user_settings(tmp_path / "nope.toml")


def test_env_variable_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = write(tmp_path / "env.toml", "[ui]\ntheme = 'cockpit-light'\n")
    monkeypatch.setenv("COCKPIT_CONFIG", str(user))
    assert load_user_settings(None).ui.theme == "cockpit-light"


def test_platform_config_dir_is_used_when_present(tmp_path: Path) -> None:
    from cockpit import paths

    paths.config_dir().mkdir(parents=True)
    write(paths.config_dir() / "config.toml", "[general]\nme = 'Kim'\n")
    assert load_user_settings(None).general.me == "Kim"


def test_playbook_must_name_a_defined_template(tmp_path: Path) -> None:
    defaults = tomllib.loads(resources.default_config_file().read_text(encoding="utf-8"))
    playbooks = defaults["outreach"]["playbooks"]
    rows = "\n".join(
        f"[[outreach.playbooks]]\nid = '{p['id']}'\ntitle = 't'\ntrigger = 'true'\nchannel = 'email'\n"
        f"template = '{'missing' if i == 0 else p['template']}'\ncooldown_days = 1\npriority = 1\n"
        for i, p in enumerate(playbooks)
    )
    with pytest.raises(ConfigError, match="names template 'missing'"):
        load_settings(write(tmp_path / "mine.toml", rows))


def test_settings_are_immutable() -> None:
    settings = load_settings()
    with pytest.raises(ValueError):
        settings.general.me = "x"
    assert isinstance(settings, Settings)


SHIPPED_VIEWS = [
    "All accounts",
    "My book",
    "Save now",
    "Renewals in 90 days",
    "Ready to cross-sell",
    "Advocates",
]


def test_user_views_add_to_the_shipped_ones(tmp_path: Path) -> None:
    user = write(
        tmp_path / "mine.toml",
        "[ui]\ndefault_view = 'BIG ONES'\n\n"
        "[[ui.views]]\nname = 'Big ones'\nsort = '-mrr'\n\n"
        "[[ui.views]]\nname = 'save NOW'\nchurn_tier = ['medium']\n",
    )
    settings = load_settings(user)
    names = [view.name for view in settings.ui.views]
    assert names == [*SHIPPED_VIEWS[:2], "save NOW", *SHIPPED_VIEWS[3:], "Big ones"]
    assert settings.ui.views[2].churn_tier == ["medium"]  # the user's view in place of the shipped one
    assert settings.ui.views[2].value_tier is None  # whole: not laid over the shipped view key by key
    assert settings.ui.view_index(settings.ui.default_view) == 6
    assert [view.name for view in load_settings().ui.views] == SHIPPED_VIEWS


def test_a_default_view_that_names_no_view_is_a_config_error(tmp_path: Path) -> None:
    user = write(tmp_path / "mine.toml", "[ui]\ndefault_view = 'Big ones'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(user)
    assert caught.value.message == (
        f"{user}: ui.default_view: names no view; the views are {', '.join(SHIPPED_VIEWS)} (got 'Big ones')"
    )


def test_an_error_in_a_user_view_names_the_users_file_and_its_place_there(tmp_path: Path) -> None:
    user = write(tmp_path / "mine.toml", "[[ui.views]]\nname = 'Big ones'\nsort = 5\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(user)
    assert caught.value.message == f"{user}: ui.views.0.sort: input should be a valid string (got 5)"
