"""The nightly run: pull from each CRM, import, score, push; one run at a time, with a report.

    pull (accounts, contacts, deletions, colleagues' engagements; per CRM)  ->  refit the learned churn model when due  ->  score the
    book  ->  plan outreach  ->  push the outbox

Outreach planned tonight waits for the CSM's review, so a later run pushes it once approved; planning before
the push also withdraws items whose contact opted out since they were approved. A CRM that hits its daily limit stops cleanly and the others
carry on; a dry run reads from the CRMs and writes nothing anywhere, listing each change field by field.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from functools import partial

from cockpit.clock import Clock, stamp
from cockpit.config import Settings
from cockpit.crm import CRM_NAMES, enabled_crms, open_adapter
from cockpit.crm.base import PULL_KINDS, CrmAdapter
from cockpit.crm.transport import CrmError, DailyLimitReached
from cockpit.errors import CockpitError, ConfigError
from cockpit.services.progress import Progress
from cockpit.services.scoring import run_scoring
from cockpit.services.sync.lock import SyncLock
from cockpit.services.sync.pull import Puller
from cockpit.services.sync.push import Pusher, item_types
from cockpit.services.sync.report import CrmRun, SyncReport
from cockpit.store import Store
from cockpit.store import sync as store_sync

AdapterFactory = Callable[[str, Settings], CrmAdapter]


def chosen_crms(settings: Settings, crm: str | None) -> list[str]:
    """The CRMs a run talks to: the one named, or every enabled one."""
    if crm is not None:
        if crm not in CRM_NAMES:
            raise ConfigError(f"unknown CRM {crm!r}; cockpit knows {', '.join(CRM_NAMES)}.")
        if not getattr(settings.crm, crm).enabled:
            raise ConfigError(
                f"{crm} is not enabled.", hint=f"Set enabled = true under [crm.{crm}] in your config."
            )
        return [crm]
    names = enabled_crms(settings)
    if not names:
        raise ConfigError(
            "no CRM is enabled.",
            hint="Set enabled = true under [crm.hubspot] or [crm.salesforce] in your config.",
        )
    return names


def _prepare(store: Store, adapter: CrmAdapter, run: CrmRun, clock: Clock) -> None:
    """Make the CRM ready for an idempotent push, once; later runs reuse what setup found."""
    state = store_sync.crm_state(store.db, adapter.name)
    if not state:
        if run.dry_run:
            run.notes.append(f"{adapter.name}: not set up yet; the real run runs `cockpit sync setup` first")
            return
        state = adapter.setup()
        with store.write() as db:
            store_sync.save_crm_state(db, adapter.name, state, now=stamp(clock()))
    adapter.use_state(state)


def _guarded(run: CrmRun, step: str, work: Callable[[], None]) -> bool:
    """Run one step of a CRM's run; a daily limit stops it, another CRM error fails it. True if it went."""
    started = time.perf_counter()
    try:
        work()
    except DailyLimitReached as error:
        run.stopped = True
        run.errors.append(f"{run.crm}: {step}: {error.message} (stopped cleanly)")
        return False
    except CrmError as error:
        run.failed = True
        run.errors.append(f"{run.crm}: {step}: {error.message}")
        return False
    finally:
        run.durations[step] = run.durations.get(step, 0.0) + time.perf_counter() - started
    return True


def run_sync(
    store: Store,
    settings: Settings,
    *,
    crm: str | None = None,
    clock: Clock,
    dry_run: bool = False,
    adapter_factory: AdapterFactory = open_adapter,
    progress: Progress | None = None,
) -> SyncReport:
    """The nightly run (see the module doc): scores and plans for the day the run starts. Raises `SyncBusy`
    if another run holds the lock too long. `progress` hears its steps done: each CRM's pull and push, the
    refit, the scoring and the plan."""
    today = clock.today()
    names = chosen_crms(settings, crm)
    started = time.perf_counter()
    adapters: dict[str, CrmAdapter] = {}
    report = SyncReport(dry_run=dry_run, runs=[])
    try:
        for name in names:  # credentials and URLs are checked before anything runs
            adapters[name] = adapter_factory(name, settings)
        with SyncLock(store.path, wait_seconds=settings.sync.lock_wait_seconds):
            if not dry_run:
                with store.write() as db:
                    store_sync.close_interrupted_runs(db, now=stamp(clock()))
            for name in names:
                report.runs.append(_start(store, name, dry_run, clock))
            runs = {run.crm: run for run in report.runs}
            steps = 2 * len(adapters) + (0 if dry_run else 3)
            done = 0

            def step() -> None:
                nonlocal done
                done += 1
                if progress is not None:
                    progress(done, steps)

            for name, adapter in adapters.items():
                _pull(store, adapter, runs[name], settings, clock)
                step()
            if not dry_run:
                _refit(store, settings, today, clock, report)
                step()
                _score(store, settings, today, clock, report)
                step()
                if report.scoring is not None:
                    _plan_outreach(store, settings, today, clock, report)
                    if settings.history.prune_nightly:
                        _keep_history(store, settings, today, report)
                step()
            for name, adapter in adapters.items():
                run = runs[name]
                if not (run.failed or run.stopped):
                    pusher = Pusher(
                        store,
                        adapter,
                        run,
                        crms=enabled_crms(settings),
                        item_types=item_types(settings),
                        max_retries=settings.sync.max_retries,
                        max_attempts=settings.sync.max_item_attempts,
                        in_flight=settings.sync.requests_in_flight,
                        clock=clock,
                    )
                    _guarded(run, "push", pusher.push)
                step()
            for run in report.runs:
                _finish(store, run, adapters[run.crm], clock)
    finally:
        for adapter in adapters.values():
            adapter.close()
    report.durations["total"] = time.perf_counter() - started
    return report


def _start(store: Store, crm: str, dry_run: bool, clock: Clock) -> CrmRun:
    run = CrmRun(crm=crm, dry_run=dry_run, started_at=stamp(clock()))
    if not dry_run:
        with store.write() as db:
            run.run_id = store_sync.start_run(db, crm, dry_run=False, now=run.started_at)
    return run


def _pull(store: Store, adapter: CrmAdapter, run: CrmRun, settings: Settings, clock: Clock) -> None:
    puller = Puller(
        store,
        adapter,
        run,
        overlap_minutes=settings.sync.overlap_minutes,
        in_flight=settings.sync.requests_in_flight,
        churned_stages=settings.sync.churned_stages,
        clock=clock,
    )
    if not _guarded(run, "setup", partial(_prepare, store, adapter, run, clock)):
        return
    try:
        puller.start()
        steps: list[Callable[[], None]] = [partial(puller.pull, kind) for kind in PULL_KINDS]
        steps += [partial(puller.pull_deletions, kind) for kind in PULL_KINDS]
        steps += [puller.pull_engagements, puller.pull_engagement_deletions]
        for step in steps:
            if not _guarded(run, "pull", step):
                return
    finally:
        puller.stop()


def _refit(store: Store, settings: Settings, today: date, clock: Clock, report: SyncReport) -> None:
    """Fit the learned churn model afresh when it is due (`refit_when_due`), before tonight's scores use it;
    a fit the book's history cannot support is reported and the run carries on."""
    from cockpit.services.churn import refit_when_due  # NumPy and SciPy: only for a real run

    started = time.perf_counter()
    try:
        refit = refit_when_due(store, settings, today, clock=clock)
    except CockpitError as error:
        report.errors.append(f"churn model: {error.message}")
        return
    report.churn_model = {**refit.to_json(), "line": refit.line()}
    report.durations["churn_model"] = time.perf_counter() - started


def _score(store: Store, settings: Settings, today: date, clock: Clock, report: SyncReport) -> None:
    try:
        summary = run_scoring(store, settings, today, clock=clock)
    except CockpitError as error:
        report.errors.append(f"scoring: {error.message}")
        return
    report.scoring = summary.to_json()
    report.durations["score"] = summary.seconds


def _plan_outreach(store: Store, settings: Settings, today: date, clock: Clock, report: SyncReport) -> None:
    from cockpit.services.outreach import plan  # Jinja2 and the planner: only for a real run

    try:
        planned = plan(store, settings, as_of=today, clock=clock, keep=0)  # the counts only
    except CockpitError as error:
        report.errors.append(f"outreach planning: {error.message}")
        return
    report.outreach = planned.counts()
    report.durations["outreach"] = planned.seconds


def _keep_history(store: Store, settings: Settings, today: date, report: SyncReport) -> None:
    """Drop the score runs the [history] policy no longer keeps (after planning, so that the plan's run is
    pinned); the freed pages are reused by the next run, so no VACUUM here."""
    from cockpit.services.history import compact

    try:
        kept = compact(store, settings, today, dry_run=False, reclaim=False)
    except CockpitError as error:
        report.errors.append(f"score history: {error.message}")
        return
    report.history = {**kept.to_json(), "line": kept.line()}


def _finish(store: Store, run: CrmRun, adapter: CrmAdapter, clock: Clock) -> None:
    stats = adapter.stats
    run.counts["requests"] = stats.requests
    run.counts["retries"] = stats.retries
    run.durations["waited"] = stats.waited_seconds
    run.notes.extend(adapter.notes())
    run.settle()
    run.finished_at = stamp(clock())
    if run.run_id is None:
        return
    with store.write() as db:
        store_sync.finish_run(
            db,
            run.run_id,
            status=run.status,
            counts=dict(run.counts),
            errors=run.errors,
            report=run.to_json(),
            now=run.finished_at,
        )


def setup_crms(
    settings: Settings,
    store: Store,
    crm: str | None,
    *,
    clock: Clock,
    adapter_factory: AdapterFactory = open_adapter,
) -> dict[str, dict[str, str]]:
    """`cockpit sync setup`: create the external-id property (HubSpot) or check the field (Salesforce)."""
    found: dict[str, dict[str, str]] = {}
    for name in chosen_crms(settings, crm):
        adapter = adapter_factory(name, settings)
        try:
            state = adapter.setup()
        finally:
            adapter.close()
        with store.write() as db:
            store_sync.save_crm_state(db, name, state, now=stamp(clock()))
        found[name] = state
    return found
