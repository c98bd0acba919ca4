from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from members.jobs import ledger_check_record
from members.ledger.invariants import ledger_violations


class Command(BaseCommand):
    help = (
        "Verify the ledger invariants for every member and record the run (staff see it on the "
        "figures page); exits non-zero naming each member that breaks one."
    )

    def handle(self, *args, **options) -> None:
        started_at = timezone.now()
        violations = ledger_violations()
        # Recorded without a mail: whoever runs the command reads the outcome here.
        ledger_check_record(violations, started_at=started_at, notify=False)
        for v in violations:
            self.stderr.write(f"member {v.member_number} (id {v.member_id}) [{v.rule}]: {v.detail}")
        if violations:
            members = len({v.member_id for v in violations})
            raise CommandError(f"{len(violations)} violation(s) for {members} member(s).")
        self.stdout.write(self.style.SUCCESS("Ledger OK: every invariant holds."))
