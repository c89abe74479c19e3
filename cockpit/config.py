"""Settings: the shipped `config.toml` with the user's file laid over it key by key, validated by pydantic.

`config.toml` at the top of the repository is the single source of the defaults: the models below declare
the shape and the types, not the values, so the documented file and the running program cannot disagree.
Tables merge key by key; the user's `[[ui.views]]` add to the shipped views (one of the same name replaces
it); any other value (other arrays included) in the user's file replaces the default.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cockpit import paths, resources
from cockpit.errors import ConfigError

Share = Annotated[float, Field(ge=0, le=1)]
Weight = Annotated[float, Field(ge=0)]
Days = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(gt=0)]
Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
ChurnTier = Literal["high", "medium", "low"]
ValueTier = Literal["high", "medium", "other"]
ScoredBand = Literal["green", "yellow", "red"]
"""The bands of a health computed from enough evidence."""
HealthBand = Literal["green", "yellow", "red", "insufficient"]
"""A health's band: "insufficient" when it rests on fewer components than `health.min_evidence`."""
INSUFFICIENT: Final = "insufficient"


def band_words(band: str | None) -> str:
    """A band as a person reads it: "not enough data" for a health that rests on too little evidence."""
    if band is None:
        return "unknown"
    return "not enough data" if band == INSUFFICIENT else band


AdoptionStatus = Literal["not started", "onboarding", "adopted", "power"]
Advocacy = Literal["lover", "liker", "lurker"]
LifecycleStage = Literal["onboarding", "adoption", "retention", "expansion", "advocacy"]
"""`cockpit.scoring.lifecycle.STAGES` (which the light command line reads without pydantic)."""


class Section(BaseModel):
    """A config table: unknown keys are errors, values are never coerced across types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class General(Section):
    currency: str
    me: str


class DatabaseSettings(Section):
    busy_timeout_ms: Annotated[int, Field(ge=0)]
    write_wait_seconds: Annotated[int, Field(ge=0)]


class HistorySettings(Section):
    keep_all_days: Annotated[int, Field(ge=1)]
    keep_weekly_days: Annotated[int, Field(ge=1)]
    prune_nightly: bool


class AdoptionSettings(Section):
    window_days: Positive
    onboarding_min_active_days: Days
    adopted_min_active_days: Days
    adopted_min_active_users: Days
    power_min_active_days: Days
    power_min_active_users: Days
    account_adopted_share: Share


class HealthWeights(Section):
    adoption: Weight
    usage_trend: Weight
    recency: Weight
    support: Weight
    sentiment: Weight
    email_engagement: Weight
    csm_touch: Weight


class HealthThresholds(Section):
    usage_trend_worst: float
    usage_trend_best: float
    recency_best_days: Days
    recency_worst_days: Positive
    support_worst_tickets: Positive
    support_escalation_penalty: Annotated[float, Field(ge=0, le=100)]
    sentiment_window_days: Positive
    email_window_days: Positive
    email_open_rate_best: Annotated[float, Field(gt=0, le=1)]
    csm_touch_best_days: Days
    csm_touch_worst_days: Positive


class HealthSettings(Section):
    green_min: Annotated[float, Field(ge=0, le=100)]
    yellow_min: Annotated[float, Field(ge=0, le=100)]
    min_evidence: Annotated[int, Field(ge=2, le=7)]
    """Components (of the seven) a health needs; at least two, so that no one of them (such as "no
    tickets") makes a health alone."""
    weights: HealthWeights
    thresholds: HealthThresholds

    @model_validator(mode="after")
    def _bands_ordered(self) -> HealthSettings:
        if self.yellow_min > self.green_min:
            raise ValueError("yellow_min must not exceed green_min")
        return self


class ChurnWeights(Section):
    cancel_page_visit: Share
    cancel_click: Share
    support_burst: Share
    escalation: Share
    inactivity: Share
    unopened_email: Share
    falling_usage: Share
    low_health: Share
    renewal_near: Share
    month_to_month: Share
    support_load: Share
    early_life: Share


class TierCutoffs(Section):
    """The churn risk from which the tier is high, and from which it is medium."""

    high_min: Share
    medium_min: Share

    @model_validator(mode="after")
    def _tiers_ordered(self) -> TierCutoffs:
        if self.medium_min > self.high_min:
            raise ValueError("medium_min must not exceed high_min")
        return self


class LearnedChurnSettings(TierCutoffs):
    horizon_days: Positive
    max_snapshots: Annotated[int, Field(ge=2)]
    min_churned: Positive
    refit_after_days: Positive


class ChurnSettings(TierCutoffs):
    mode: Literal["auto", "rules", "learned"]
    half_life_days: Positive
    horizon_days: Positive
    support_burst_tickets: Positive
    support_burst_days: Positive
    inactivity_days: Positive
    unopened_email_min: Positive
    falling_usage_drop: Share
    low_health_below: Annotated[float, Field(ge=0, le=100)]
    renewal_near_days: Positive
    support_load_multiple: Annotated[float, Field(gt=0)]
    early_life_days: Positive
    trait_max_share: Share
    evaluate_horizon_days: Positive
    weights: ChurnWeights
    learned: LearnedChurnSettings


class ValueSettings(Section):
    basis: Literal["arr", "clv"]
    high_cumulative_share: Share
    medium_cumulative_share: Share


class PrioritySettings(Section):
    high_high: str
    high_medium: str
    high_other: str
    medium_high: str
    medium_medium: str
    medium_other: str
    low_high: str
    low_medium: str
    low_other: str

    def label(self, churn_tier: ChurnTier, value_tier: ValueTier) -> str:
        label: str = getattr(self, f"{churn_tier}_{value_tier}")
        return label


class CrossSellSettings(Section):
    required_adoption: AdoptionStatus
    required_band: ScoredBand
    required_churn_tier: ChurnTier


class AdvocacySettings(Section):
    promoter_min_nps: Annotated[int, Field(ge=0, le=10)]
    lover_min_advocacy_acts: Positive
    window_days: Positive


class ClvSettings(Section):
    margin: Share
    annual_discount_rate: Annotated[float, Field(gt=0, lt=1)]
    min_segment_accounts: Positive
    interval: Annotated[float, Field(gt=0, lt=1)]
    horizon_periods: Positive
    period_months: Literal[0, 1, 3, 6, 12]
    purchase_period_days: Positive
    orders_with_subscription: Literal["add", "ignore"]
    stale_after_days: Positive


class BookSettings(Section):
    default_cac: Annotated[float, Field(ge=0)]
    ltv_cac_target: Annotated[float, Field(gt=0)]
    forecast_days: Positive
    forecast_top: Positive
    movers_shown: Positive
    cached_views: Positive


class TodaySettings(Section):
    fold_overdue_after_days: Positive


class JourneySettings(Section):
    window_days: Positive
    period_days: Positive
    lookback_days: Positive
    max_steps: Annotated[int, Field(ge=1, le=3)]
    min_accounts: Positive
    false_discovery_rate: Annotated[float, Field(gt=0, lt=1)]
    burst_tickets: Positive

    @model_validator(mode="after")
    def _periods_fit(self) -> JourneySettings:
        periods = -(-self.window_days // self.period_days)
        if periods > 32:
            raise ValueError(f"window_days / period_days makes {periods} periods; at most 32")
        return self


ColumnName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_$]*$")]
"""A column of an events source, by its name there."""
OptionalColumn = Annotated[str, Field(pattern=r"^([A-Za-z_][A-Za-z0-9_$]*)?$")]
"""A column an events source may lack: empty for none."""
Tables = str | list[str]
"""Where a table of an events source is: a table name, or (for DuckDB) a file, a glob or a list of them."""


class UsageColumns(Section):
    """`[events.usage]`: where the usage events are, and their columns' names there."""

    table: Tables
    account: ColumnName
    feature: ColumnName
    occurred_at: ColumnName
    contact: ColumnName
    count: OptionalColumn


class SignalColumns(Section):
    """`[events.signals]`: where the signals are, and their columns' names there."""

    table: Tables
    account: ColumnName
    kind: ColumnName
    occurred_at: ColumnName
    value: OptionalColumn
    detail: OptionalColumn
    ref: OptionalColumn
    contact: OptionalColumn
    campaign: OptionalColumn
    bulk: OptionalColumn


class DuckDbSettings(Section):
    memory_limit: Annotated[str, Field(pattern=r"^([0-9.]+ *[KMGT]i?B)?$")]
    threads: Annotated[int, Field(ge=0)]


class PostgresqlSettings(Section):
    dsn_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


EventsSourceName = Literal["local", "duckdb", "postgresql"]


class EventsSettings(Section):
    """`[events]`: the engine that holds the usage events and signals (`cockpit.events`)."""

    source: EventsSourceName
    account_key: Literal["id", "alias"]
    alias_system: str
    duckdb: DuckDbSettings
    postgresql: PostgresqlSettings
    usage: UsageColumns
    signals: SignalColumns


class ImportProfile(Section):
    kind: str
    columns: dict[str, str]
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    constants: dict[str, str] = Field(default_factory=dict)


class ImportSettings(Section):
    max_errors: Annotated[int, Field(ge=0)]
    batch_size: Annotated[int, Field(ge=1, le=100_000)]
    account_subdomains: list[Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]]
    profiles: dict[str, ImportProfile]


class ContactPolicy(Section):
    max_touches: Positive
    window_days: Positive
    min_gap_days: Days
    quiet_weekdays: list[Weekday]
    quiet_dates: list[str]

    @field_validator("quiet_dates")
    @classmethod
    def _iso_dates(cls, dates: list[str]) -> list[str]:
        for text in dates:
            try:
                date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None
        return dates


OutreachAbout = Literal["account", "contact", "feature", "product", "renewal", "email"]
Channel = Literal["email", "call_task", "todo"]


class Playbook(Section):
    """One playbook of `[[outreach.playbooks]]`; the trigger, `due_in` and the template are checked by
    `cockpit.outreach.playbooks` (they need the outreach package's facts and tokens)."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    title: str
    trigger: str
    about: OutreachAbout = "account"
    channel: Channel
    template: str
    cooldown_days: Days
    priority: int
    due_in: str = ""
    roles: list[str] = Field(default_factory=list)
    follow_up_campaigns: list[str] = Field(default_factory=list)
    """For `about = "email"`: the bulk campaigns whose sends this playbook follows up too."""


class Template(Section):
    subject: str
    body: str


class OutreachSettings(Section):
    max_shift_days: Days
    contact_roles: list[str]
    template_max_steps: Annotated[int, Field(ge=1_000)]
    template_max_chars: Annotated[int, Field(ge=1_000)]
    policy: ContactPolicy
    playbooks: list[Playbook]
    templates: dict[str, Template]

    @model_validator(mode="after")
    def _templates_exist(self) -> OutreachSettings:
        seen: set[str] = set()
        for playbook in self.playbooks:
            if playbook.id in seen:
                raise ValueError(f"two playbooks have the id {playbook.id!r}")
            seen.add(playbook.id)
            if playbook.template not in self.templates:
                raise ValueError(
                    f"playbook {playbook.id!r} names template {playbook.template!r}, not defined"
                )
        return self


class SyncSettings(Section):
    overlap_minutes: Days
    lock_wait_seconds: Annotated[float, Field(ge=0)]
    max_retries: Days
    backoff_initial_seconds: Annotated[float, Field(gt=0)]
    backoff_max_seconds: Annotated[float, Field(gt=0)]
    connect_timeout_seconds: Annotated[float, Field(gt=0)]
    request_timeout_seconds: Annotated[float, Field(gt=0)]
    max_item_attempts: Positive
    daily_quota_reserve: Annotated[float, Field(ge=0, lt=1)]
    meeting_minutes: Positive
    requests_in_flight: Annotated[int, Field(gt=0, le=16)]
    churned_stages: list[str]
    push_follow_ups: bool


class HubSpotSettings(Section):
    enabled: bool
    base_url: str
    api_version: str
    token_env: str
    batch_size: Annotated[int, Field(gt=0, le=100)]
    requests_per_10s: Positive
    search_requests_per_second: Annotated[float, Field(gt=0)]
    search_lag_seconds: Annotated[float, Field(ge=0, le=60)]
    external_id_property: str
    churned_on_property: Annotated[str, Field(pattern=r"^([a-z][a-z0-9_]*)?$")]
    lifecycle_property: Annotated[str, Field(pattern=r"^([a-z][a-z0-9_]*)?$")]


class SalesforceSettings(Section):
    enabled: bool
    instance_url: str
    api_version: str
    client_id_env: str
    client_secret_env: str
    batch_size: Annotated[int, Field(gt=0, le=200)]
    external_id_field: str
    churned_on_field: Annotated[str, Field(pattern=r"^([A-Za-z][A-Za-z0-9_]*)?$")]
    lifecycle_field: Annotated[str, Field(pattern=r"^([A-Za-z][A-Za-z0-9_]*)?$")]


class CrmSettings(Section):
    hubspot: HubSpotSettings
    salesforce: SalesforceSettings


BookSortKey = Literal["name", "owner", "plan", "mrr", "renewal_date"]


class View(Section):
    """A saved view of the book. Each filter key narrows the list; `sort` is a column, `-` for descending."""

    name: str
    sort: str = "name"
    owner: str | None = None
    segment: list[str] | None = None
    churn_tier: list[ChurnTier] | None = None
    value_tier: list[ValueTier] | None = None
    health_band: list[HealthBand] | None = None
    advocacy: list[Advocacy] | None = None
    stage: list[LifecycleStage] | None = None
    cross_sell_ready: bool | None = None
    renewal_within_days: Days | None = None
    custom: dict[str, list[str]] | None = None
    """Custom field key -> the values it may hold (any case), e.g. {industry = ["FinTech"]}."""


def _view_position(views: list[View], name: str) -> int | None:
    """Where the view called `name` (in any case) is in `views`."""
    return next((index for index, view in enumerate(views) if view.name.casefold() == name.casefold()), None)


class UiSettings(Section):
    theme: Literal["cockpit-dark", "cockpit-light"]
    page_size: Annotated[int, Field(ge=20, le=5000)]
    refresh_seconds: Annotated[float, Field(gt=0)]
    views: list[View]
    default_view: str
    """After `views`, which its check reads."""
    keymap: dict[str, str]

    @field_validator("default_view")
    @classmethod
    def _names_a_view(cls, name: str, info: ValidationInfo) -> str:
        views: list[View] | None = info.data.get("views")
        if views is not None and _view_position(views, name) is None:
            raise ValueError(f"names no view; the views are {', '.join(view.name for view in views)}")
        return name

    def view_index(self, name: str) -> int | None:
        """The position of the view called `name`, in any case, in `views`."""
        return _view_position(self.views, name)


class Settings(Section):
    general: General
    database: DatabaseSettings
    history: HistorySettings
    adoption: AdoptionSettings
    health: HealthSettings
    churn: ChurnSettings
    value: ValueSettings
    priority: PrioritySettings
    cross_sell: CrossSellSettings
    advocacy: AdvocacySettings
    clv: ClvSettings
    book: BookSettings
    journeys: JourneySettings
    today: TodaySettings
    events: EventsSettings
    import_: ImportSettings = Field(alias="import")
    outreach: OutreachSettings
    sync: SyncSettings
    crm: CrmSettings
    ui: UiSettings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except PermissionError:
        raise ConfigError(f"{path}: cannot read the config file (permission denied)") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: the file is not UTF-8 text") from None


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


ViewNumbers = dict[int, int]
"""Where each of the user's views landed among the views (its index there: its index in the user's file)."""


def _views(data: dict[str, Any]) -> Any:
    ui = data.get("ui")
    return ui.get("views") if isinstance(ui, dict) else None


def _add_views(shipped: list[Any], theirs: list[Any]) -> tuple[list[Any], ViewNumbers]:
    """The shipped views with the user's added, a user view named like a shipped one (in any case) in its
    place; and where each of the user's views landed."""
    views = list(shipped)
    numbers: ViewNumbers = {}

    def name(view: Any) -> str | None:
        given = view.get("name") if isinstance(view, dict) else None
        return given.casefold() if isinstance(given, str) else None

    for number, view in enumerate(theirs):
        same = [at for at, old in enumerate(views) if name(view) is not None and name(old) == name(view)]
        at = same[0] if same else len(views)
        views[at : at + 1] = [view]  # in place of the shipped one, or at the end
        numbers[at] = number
    return views, numbers


def _user_loc(loc: tuple[int | str, ...], numbers: ViewNumbers) -> tuple[int | str, ...] | None:
    """A key's place in the user's file (a view's index there, not among all views); None for a shipped
    view."""
    if loc[:2] != ("ui", "views") or len(loc) < 3 or not isinstance(loc[2], int):
        return loc
    number = numbers.get(loc[2])
    return None if number is None else (*loc[:2], number, *loc[3:])


def _has_key(data: Any, loc: tuple[int | str, ...]) -> bool:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return False
    return True


def _describe(loc: tuple[int | str, ...], error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key"
    if kind == "missing":
        return f"{key}: required key is missing"
    given = error.get("input")
    shown = f" (got {given!r})" if not isinstance(given, dict | list) else ""
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{key}: {message[:1].lower()}{message[1:]}{shown}" if key else f"{message}{shown}"


def _validate(
    merged: dict[str, Any],
    default_file: Path,
    user: tuple[Path, dict[str, Any]] | None,
    view_numbers: ViewNumbers,
) -> Settings:
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            # Name the file the offending key came from: the user's file wherever it set the key.
            source = default_file
            theirs = _user_loc(loc, view_numbers)
            if (
                user is not None
                and theirs is not None
                and (_has_key(user[1], theirs) or error["type"] == "extra_forbidden")
            ):
                source, loc = user[0], theirs
            lines.append(f"{source}: {_describe(loc, dict(error))}")
        raise ConfigError(
            "\n".join(lines), hint="Fix the keys named above; config.toml documents each one."
        ) from None


def load_settings(user_file: Path | None = None, *, default_file: Path | None = None) -> Settings:
    """Load the shipped defaults with `user_file` laid over them."""
    default_path = default_file or resources.default_config_file()
    defaults = _read_toml(default_path)
    if user_file is None:
        return _validate(defaults, default_path, None, {})
    overrides = _read_toml(user_file)
    merged = _merge(defaults, overrides)
    numbers: ViewNumbers = {}
    shipped, theirs = _views(defaults), _views(overrides)
    if isinstance(shipped, list) and isinstance(theirs, list):
        merged["ui"]["views"], numbers = _add_views(shipped, theirs)
    return _validate(merged, default_path, (user_file, overrides), numbers)


def load_user_settings(explicit: Path | None) -> Settings:
    """Load settings with the user's file found from `--config`, `COCKPIT_CONFIG` or the config dir."""
    return load_settings(paths.resolve_user_config_path(explicit))
