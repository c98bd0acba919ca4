import json
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from bench.db import ensure_bench_database
from members.jobs.command import parse_as_of


class Command(BaseCommand):
    help = (
        "Benchmark the jobs on generated data (PostgreSQL: DATABASE_URL, or loyalty_bench): each job "
        "against one hand-written statement and the per-member ORM loop, with peak memory at two sizes."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--members", type=int, default=1_000_000)
        parser.add_argument("--purchases", type=int, default=10_000_000)
        parser.add_argument("--sample", type=int, default=1000, help="Members the ORM loop is timed on.")
        parser.add_argument("--chunk-size", type=int, help="Members per chunk (LOYALTY_JOB_CHUNK_SIZE).")
        parser.add_argument("--job", action="append", help="Only this job (repeatable).")
        parser.add_argument("--reuse-data", action="store_true", help="Keep the data already generated.")
        parser.add_argument("--json", help="Also write the figures to this file.")
        # A worker process: run one job over an id range and print its figures as JSON.
        parser.add_argument("--worker", help=json.dumps("internal"))
        parser.add_argument("--as-of")
        parser.add_argument("--first-id", type=int)
        parser.add_argument("--last-id", type=int)

    def handle(self, *args, **options) -> None:
        ensure_bench_database()
        from bench.runner import bench_cases, report, worker_main

        if options["worker"]:
            figures = worker_main(
                options["worker"],
                parse_as_of(options["as_of"]),
                options["first_id"],
                options["last_id"],
                options["chunk_size"],
            )
            self.stdout.write(json.dumps(figures))
            return
        started = time.perf_counter()
        if not options["reuse_data"]:
            call_command("generate_bench_data", members=options["members"], purchases=options["purchases"])
        now = timezone.now()
        members, results = bench_cases(
            now=now,
            sample=options["sample"],
            chunk_size=options["chunk_size"],
            only=options["job"],
            log=self.stdout.write,
        )
        self.stdout.write("")
        self.stdout.write(f"{members:,} members, {options['purchases']:,} purchases:")
        for line in report(members, results):
            self.stdout.write(line)
        self.stdout.write(f"Whole run: {time.perf_counter() - started:.0f} s.")
        if options["json"]:
            with open(options["json"], "w") as out:
                json.dump({"members": members, "results": [r.as_dict() for r in results]}, out, indent=2)
