from datetime import timedelta

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from bench.db import ensure_bench_database


class Command(BaseCommand):
    help = "Time the tier and expiry jobs with and without their webhook events (bench/events.py)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--members", type=int, default=100_000)
        parser.add_argument("--purchases", type=int, default=1_000_000)
        parser.add_argument("--repeats", type=int, default=3)
        parser.add_argument("--reuse-data", action="store_true")

    def handle(self, *args, **options) -> None:
        ensure_bench_database()
        from bench.events import events_cost

        if not options["reuse_data"]:
            call_command("generate_bench_data", members=options["members"], purchases=options["purchases"])
        as_of = timezone.now() + timedelta(days=1)
        for job in ("recalculate_tiers", "expire_points"):
            self.stdout.write(events_cost(name=job, as_of=as_of, repeats=options["repeats"]).as_text())
