"""`cognos run` that a person can watch: step progress instead of Dagster's DEBUG log.

The run executes in a worker thread (it is `execute_job`, synchronous); this thread reads the
run's events from the instance and shows them: a live table on a terminal, one line per
finished step otherwise. Dagster's own log lines go to stderr; they are held back unless
`-v`, because a run writes 60+ of them and a failed step's traceback belongs in the UI.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import dagster as dg
from rich.console import Console
from rich.live import Live
from rich.table import Table

from cognitionos_dagster.settings import Settings

if TYPE_CHECKING:
    from cognitionos_dagster.db.repositories.executions import StepRow

T = TypeVar("T")
POLL_SECONDS = 0.3
STYLE = {"pending": "dim", "running": "yellow", "done": "green", "failed": "red", "skipped": "dim"}


@dataclass
class StepState:
    status: str = "pending"
    attempts: int = 0
    started: float | None = None
    ended: float | None = None
    done_items: int = 0
    total_items: int = 0

    def items(self) -> str:
        """`foreach` progress: items finished so far, over the total once the step has it."""
        if not (self.done_items or self.total_items):
            return ""
        return f"{self.done_items}/{self.total_items}" if self.total_items else str(self.done_items)

    def seconds(self, now: float) -> float | None:
        return None if self.started is None else (self.ended or now) - self.started


@dataclass
class RunProgress:
    """Step states folded from the run's events; step keys map to the spec's step ids."""

    steps: dict[str, StepState]
    seen: int = 0
    finished: list[str] = field(default_factory=list)
    recorded: set[str] = field(default_factory=set)  # steps whose own row the step records hold

    def step_of(self, step_key: str) -> tuple[str | None, bool]:
        """(step id, whether the key is one item of a foreach) for a Dagster step key."""
        head = step_key.split(".")[0]
        base, _, rest = head.partition("[")
        return (base if base in self.steps else None), bool(rest)

    def apply_records(self, rows: list[StepRow]) -> None:
        """Fold in the step records: a `foreach` records each item as `<step>[i]`, then itself."""
        done: dict[str, int] = {}
        for row in rows:
            step_id, is_item = self.step_of(str(row["step_id"]))
            if step_id is None:
                continue
            if is_item:
                done[step_id] = done.get(step_id, 0) + 1
            else:
                self.recorded.add(step_id)
                if isinstance(row.get("output"), list):
                    self.steps[step_id].total_items = len(row["output"])
        for step_id, n in done.items():
            self.steps[step_id].done_items = n

    def apply(self, event: dg.EventLogEntry) -> None:
        kind = event.dagster_event_type
        step_id, is_item = self.step_of(event.step_key or "")
        if step_id is None or kind is None:
            return
        state = self.steps[step_id]
        if is_item:
            return
        if kind == dg.DagsterEventType.STEP_START:
            if state.started is None:
                state.started = event.timestamp
            state.status, state.attempts = "running", max(state.attempts, 1)
        elif kind == dg.DagsterEventType.STEP_UP_FOR_RETRY:
            state.attempts += 1
        elif kind == dg.DagsterEventType.STEP_SUCCESS:
            self._end(step_id, "done", event.timestamp)
        elif kind == dg.DagsterEventType.STEP_FAILURE:
            self._end(step_id, "failed", event.timestamp)
        elif kind == dg.DagsterEventType.STEP_SKIPPED:
            self._end(step_id, "skipped", event.timestamp)

    def _end(self, step_id: str, status: str, when: float) -> None:
        state = self.steps[step_id]
        if state.status in ("done", "failed", "skipped"):
            return
        state.status, state.ended = status, when
        self.finished.append(step_id)

    def table(self) -> Table:
        now = time.time()
        table = Table(box=None, pad_edge=False)
        for column in ("step", "status", "attempts", "started", "time", "items"):
            table.add_column(column, no_wrap=True)
        for step_id, s in self.steps.items():
            secs = s.seconds(now)
            table.add_row(
                step_id, f"[{STYLE[s.status]}]{s.status}[/]", str(s.attempts or "-"),
                datetime.fromtimestamp(s.started, UTC).strftime("%H:%M:%S") if s.started else "-",
                f"{secs:.1f}s" if secs is not None else "-",
                    s.items(),
            )
        return table

    def line(self, step_id: str) -> str:
        s = self.steps[step_id]
        secs = s.seconds(time.time())
        items = f" items {s.items()}" if s.items() else ""
        return f"  {step_id:<28} {s.status:<8} attempts={s.attempts} {secs or 0:.1f}s{items}"


@contextlib.contextmanager
def dagster_logs_held(verbose: bool) -> Iterator[io.StringIO]:
    """Hold back what the run writes to stderr (Dagster's console logger) unless verbose."""
    held = io.StringIO()
    if verbose:
        yield held
        return
    with contextlib.redirect_stderr(held):
        yield held


def watch(instance: dg.DagsterInstance, job_name: str, step_ids: list[str], work: Callable[[], T],
          console: Console, records: Callable[[str], list[StepRow]] | None = None) -> T:
    """Run `work` (which starts one run of `job_name`) and show its steps as they go."""
    since = time.time() - 1
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = work()
        except BaseException as exc:  # handed back to the caller's thread below
            result["error"] = exc

    worker = threading.Thread(target=target, name="cognos-run", daemon=True)
    progress = RunProgress({s: StepState() for s in step_ids})
    run_id: str | None = None
    live = Live(progress.table(), console=console, auto_refresh=False, transient=False) \
        if console.is_terminal else None
    worker.start()
    with live or contextlib.nullcontext():
        while True:
            alive = worker.is_alive()
            run_id = run_id or _find_run(instance, job_name, since)
            if run_id:
                events = instance.all_logs(run_id)
                if records is not None:
                    progress.apply_records(records(run_id))
                for event in events[progress.seen:]:
                    progress.apply(event)
                progress.seen = len(events)
            if live is not None:
                live.update(progress.table(), refresh=True)
            else:
                # Step rows reach the database in batches, a moment after Dagster's event: a finished
                # step's line waits for its row (or the run's end), so `items n/m` is complete.
                while progress.finished and (records is None or not alive
                                             or progress.finished[0] in progress.recorded):
                    console.print(progress.line(progress.finished.pop(0)), markup=False, highlight=False)
            if not alive:
                break
            worker.join(POLL_SECONDS)
    if "error" in result:
        raise result["error"]
    return result["value"]


def _find_run(instance: dg.DagsterInstance, job_name: str, since: float) -> str | None:
    after = datetime.fromtimestamp(since, UTC)
    records = instance.get_run_records(dg.RunsFilter(job_name=job_name, created_after=after), limit=1)
    return records[0].dagster_run.run_id if records else None


def step_records(settings: Settings) -> Callable[[str], list[StepRow]]:
    """The run's step records (items of a `foreach` included) as the step runner writes them."""
    from cognitionos_dagster.db import server
    from cognitionos_dagster.db.connection import Database
    from cognitionos_dagster.db.repositories.executions import ExecutionRepository

    repo = ExecutionRepository(Database(server.resolve(settings).app_url))
    return repo.steps
