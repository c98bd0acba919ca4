"""The nightly ledger check: the invariants of ``members.ledger.invariants``, recorded as a
``JobRun`` and mailed to staff when any is broken."""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.utils import timezone

from ..ledger.invariants import ledger_violations
from ..models import JobRun

SHOWN_VIOLATIONS = 50


@transaction.atomic
def ledger_check_run(*, notify: bool = True) -> JobRun:
    """Check the ledger; the run succeeds when every invariant holds and fails (staff mailed
    after commit) otherwise."""
    now = timezone.now()
    violations = ledger_violations()
    lines = [f"member {v.member_number} (id {v.member_id}) [{v.rule}]: {v.detail}" for v in violations]
    if len(lines) > SHOWN_VIOLATIONS:
        lines = [*lines[:SHOWN_VIOLATIONS], f"... and {len(violations) - SHOWN_VIOLATIONS} more"]
    members = len({v.member_id for v in violations})
    run = JobRun.objects.create(
        name="check_ledger",
        as_of=now,
        started_at=now,
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

        transaction.on_commit(partial(ledger_check_failed_notify_task.delay, run.pk))
    return run
