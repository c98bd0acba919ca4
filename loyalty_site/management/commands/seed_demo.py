"""``manage.py seed_demo [--program-only]``: idempotent demo data.

Each app contributes a ``demo`` module with ``seed_program()`` (settings, tiers, the default
rewards) and ``seed_demo(out)`` (members, history, campaigns); they run in dependency order.
"""

from importlib import import_module
from importlib.util import find_spec

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from members.jobs import ledger_check_run

# campaigns before rewards: the year of history comes first, the rewards demo's redemptions of today
# after it; engagement last of the earning apps, so its recompute job sees that history.
DEMO_MODULES = [
    "members.demo",
    "campaigns.demo",
    "rewards.demo",
    "campaigns.engagement.demo",
    "loyalty_site.staff.demo",
]


class Command(BaseCommand):
    help = "Create (or refresh) the demo program; with --program-only just settings, tiers and rewards."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--program-only", action="store_true")
        parser.add_argument("--force", action="store_true", help="Make the demo logins even with DEBUG off.")

    def handle(self, *args, program_only: bool, force: bool, **options) -> None:
        if not program_only and not settings.DEBUG and not force:
            # The demo's logins have passwords printed in the README: never on a live site by accident.
            raise CommandError(
                "DEBUG is off: this looks like a live site, and the demo makes logins with published "
                "passwords. Use --program-only for the program's defaults, or --force if you mean it."
            )
        modules = [import_module(name) for name in DEMO_MODULES if find_spec(name)]
        with transaction.atomic():
            for module in modules:
                if seed_program := getattr(module, "seed_program", None):
                    seed_program()
        self.stdout.write("Program settings, tiers and rewards are in place.")
        if program_only:
            return
        for module in modules:
            if seed_demo := getattr(module, "seed_demo", None):
                seed_demo(self.stdout)
        # A recorded check, so the staff figures page reports on the demo ledger from the start.
        run = ledger_check_run(notify=False)
        self.stdout.write(f"Ledger check: {run.detail.splitlines()[0]}")
