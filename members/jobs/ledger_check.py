"""The ledger check: the invariants of ``members.ledger.invariants``, recorded as a ``JobRun``
(which the staff figures page reports) and mailed to staff when any is broken."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from ..ledger.invariants import Violation, ledger_violations
from ..models import JobRun

SHOWN_VIOLATIONS = 50


@transaction.atomic
def ledger_check_run(*, notify: bool = True) -> JobRun:
    """Check the ledger and record the run; it succeeds when every invariant holds and fails
    (staff mailed after commit) otherwise."""
    started_at = timezone.now()
    return ledger_check_record(ledger_violations(), started_at=started_at, notify=notify)


def ledger_check_record(violations: list[Violation], *, started_at: datetime, notify: bool = True) -> JobRun:
    """Record a check that found ``violations`` as a ``check_ledger`` run."""
    lines = [f"member {v.member_number} (id {v.member_id}) [{v.rule}]: {v.detail}" for v in violations]
    if len(lines) > SHOWN_VIOLATIONS:
        lines = [*lines[:SHOWN_VIOLATIONS], f"... and {len(violations) - SHOWN_VIOLATIONS} more"]
    members = len({v.member_id for v in violations})
    run = JobRun.objects.create(
        name="check_ledger",
        as_of=started_at,
        started_at=started_at,
        finished_at=timezone.now(),
        chunks_total=1,
        chunks_done=1,
        rows_changed=0,
        outcome=JobRun.Outcome.FAILED if violations else JobRun.Outcome.SUCCEEDED,
        detail=(
            f"{len(violations)} violation(s) for {members} member(s):\n" + "\n".join(lines)
            if violations
            else "Every invariant holds."
        ),
    )
    if violations and notify:
        from ..tasks import ledger_check_failed_notify_task

        transaction.on_commit(partial(ledger_check_failed_notify_task.delay, run.pk), robust=True)
    return run
