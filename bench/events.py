"""What the webhook events cost the bulk jobs: each job timed on the same data with events
off (``LOYALTY_WEBHOOKS_EVENTS = False``) and on, alternately, every run rolled back so each
starts from the same state. The events are one ``INSERT ... SELECT`` per chunk; the ratio says
what that costs."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.test import override_settings

from members.jobs import job_run
from members.webhooks.models import WebhookEvent


@dataclass(frozen=True)
class EventsCost:
    job: str
    rows_changed: int
    events: int
    seconds_without: float
    seconds_with: float

    @property
    def ratio(self) -> float:
        return self.seconds_with / self.seconds_without

    def as_text(self) -> str:
        return (
            f"{self.job}: {self.rows_changed} rows changed, {self.events} events; "
            f"{self.seconds_without:.3f} s without events, {self.seconds_with:.3f} s with "
            f"(x{self.ratio:.3f})"
        )


def _timed_run(name: str, as_of: datetime, *, events: bool) -> tuple[float, int, int]:
    with override_settings(LOYALTY_WEBHOOKS_EVENTS=events), transaction.atomic():
        started = time.perf_counter()
        run, _ = job_run(name=name, as_of=as_of, notify=False)
        elapsed = time.perf_counter() - started
        written = WebhookEvent.objects.count()
        transaction.set_rollback(True)
    return elapsed, run.rows_changed, written


def events_cost(*, name: str, as_of: datetime, repeats: int = 3) -> EventsCost:
    without, with_events, rows, written = [], [], 0, 0
    for _ in range(repeats):
        elapsed, rows, _ = _timed_run(name, as_of, events=False)
        without.append(elapsed)
        elapsed, rows, written = _timed_run(name, as_of, events=True)
        with_events.append(elapsed)
    return EventsCost(name, rows, written, statistics.median(without), statistics.median(with_events))
