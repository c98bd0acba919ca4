from django.core.management.base import BaseCommand, CommandError

from members.ledger.invariants import ledger_violations


class Command(BaseCommand):
    help = "Verify the ledger invariants for every member; exits non-zero naming each member that breaks one."

    def handle(self, *args, **options) -> None:
        violations = ledger_violations()
        for v in violations:
            self.stderr.write(f"member {v.member_number} (id {v.member_id}) [{v.rule}]: {v.detail}")
        if violations:
            members = len({v.member_id for v in violations})
            raise CommandError(f"{len(violations)} violation(s) for {members} member(s).")
        self.stdout.write(self.style.SUCCESS("Ledger OK: every invariant holds."))
