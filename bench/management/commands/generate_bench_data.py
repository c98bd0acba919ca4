from django.core.management.base import BaseCommand
from django.utils import timezone

from bench.data import bench_data_generate
from bench.db import ensure_bench_database


class Command(BaseCommand):
    help = (
        "Fill the benchmark database (PostgreSQL: DATABASE_URL, or loyalty_bench) with generated "
        "members, purchases and a consistent ledger. Replaces what is there."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--members", type=int, default=1_000_000)
        parser.add_argument("--purchases", type=int, default=10_000_000)

    def handle(self, *args, **options) -> None:
        ensure_bench_database()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        self.stdout.write(
            f"Generating {options['members']:,} members and {options['purchases']:,} purchases:"
        )
        timings = bench_data_generate(
            members=options["members"],
            purchases=options["purchases"],
            now=timezone.now(),
            log=self.stdout.write,
        )
        self.stdout.write(self.style.SUCCESS(f"Done in {sum(timings.values()):.1f} s."))
