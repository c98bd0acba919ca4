"""``manage.py bench``: generate the data, then for each job time, on the same data in one run,
the hand-written statement (the floor), the ORM loop on a sample, and the job itself.

The job runs in fresh worker processes (``manage.py bench --worker ...``), each reporting its
time and peak RSS: one over the first tenth of the member ids and one over the rest, so the
job's time is their sum and its memory is measured at two sizes nine times apart.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Max, Min

from members.jobs import job_run
from members.models import Member

from .baselines import floor_run, orm_loop_run

# What the floor statement's row count counts, in the job's own totals.
COMPARABLE = {
    "recalculate_tiers": ("tier changes", ("up", "down")),
    "expire_points": ("lots expired", ("lots",)),
    "release_pending_points": ("members released", ("members",)),
    "send_expiry_reminders": ("reminders", ("reminders",)),
    "refresh_segments": ("memberships added", ("added",)),
}

# Each job, with the as-of it runs at relative to the data's "now" and the tables it writes.
CASES: list[tuple[str, timedelta, list[str]]] = [
    ("recalculate_tiers", timedelta(0), ["members_member", "members_tierchange"]),
    (
        "expire_points",
        timedelta(0),
        ["members_member", "members_pointlot", "members_ledgerentry", "members_lotallocation"],
    ),
    ("release_pending_points", timedelta(days=7), ["members_member", "members_pointlot"]),
    ("send_expiry_reminders", timedelta(0), ["members_expiryreminder"]),
    ("refresh_segments", timedelta(0), ["campaigns_segmentmember"]),
]


@dataclass
class CaseResult:
    name: str
    floor_seconds: float
    floor_rows: int
    floor_checks_seconds: float
    orm_seconds: float
    orm_members: int
    job_seconds: float
    job_rows: int
    job_chunks: int
    job_comparable: int = 0
    rss_kb: list[int] = field(default_factory=list)
    rss_members: list[int] = field(default_factory=list)
    baseline_rss_kb: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__ | {
            "ratio_to_floor": self.ratio_to_floor,
            "orm_per_member_ratio": self.orm_ratio,
        }

    @property
    def ratio_to_floor(self) -> float:
        return self.job_seconds / self.floor_seconds if self.floor_seconds else float("nan")

    def orm_per_member(self) -> float:
        return self.orm_seconds / self.orm_members

    def job_per_member(self, members: int) -> float:
        return self.job_seconds / members

    orm_ratio: float = 0.0


def _timed(call: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def _vacuum(tables: list[str]) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def worker_main(name: str, as_of: datetime, first_id: int, last_id: int, chunk_size: int | None) -> dict:
    """Run in a fresh process: the job over one id range; report time, rows and peak RSS."""
    connection.ensure_connection()
    baseline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds, (run, totals) = _timed(
        lambda: job_run(
            name=name,
            as_of=as_of,
            first_id=first_id,
            last_id=last_id,
            chunk_size=chunk_size,
            notify=False,
        )
    )
    return {
        "seconds": seconds,
        "rows": run.rows_changed,
        "totals": totals.__dict__,
        "chunks": run.chunks_done,
        "baseline_rss_kb": baseline_rss,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def _worker(name: str, as_of: datetime, first_id: int, last_id: int, chunk_size: int | None) -> dict:
    command = [
        sys.executable,
        str(settings.BASE_DIR / "manage.py"),
        "bench",
        "--worker",
        name,
        "--as-of",
        as_of.isoformat(),
        "--first-id",
        str(first_id),
        "--last-id",
        str(last_id),
    ]
    if chunk_size:
        command += ["--chunk-size", str(chunk_size)]
    env = {**os.environ, "DATABASE_URL": os.environ["DATABASE_URL"]}
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(output.strip().splitlines()[-1])


def bench_cases(
    *,
    now: datetime,
    sample: int,
    chunk_size: int | None,
    only: list[str] | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> tuple[int, list[CaseResult]]:
    bounds = Member.objects.aggregate(low=Min("id"), high=Max("id"))
    low, high = bounds["low"], bounds["high"]
    members = Member.objects.count()
    step = max(1, (high - low + 1) // sample)
    sample_ids = list(range(low, high + 1, step))[:sample]
    cut = low + (high - low + 1) // 10 - 1
    results = []
    for name, offset, tables in CASES:
        if only and name not in only:
            continue
        as_of = now + offset
        log(f"{name} (as of {as_of:%Y-%m-%d %H:%M}):")
        if name == "refresh_segments":
            # The floor fills "lapsed" only; any other active segment is extra work for the job.
            from campaigns.models import Segment

            codes = list(Segment.objects.filter(is_active=True).values_list("code", flat=True))
            log(f"  active segments: {', '.join(codes) or 'none'}")
        floor_seconds, (floor_rows, floor_checks_seconds) = _timed(
            lambda name=name, as_of=as_of: floor_run(name, as_of=as_of)
        )
        log(
            f"  floor (one statement, rolled back): {floor_seconds:.2f} s, "
            f"{floor_rows:,} {COMPARABLE[name][0]}; of its time, the deferred foreign-key "
            f"checks {floor_checks_seconds:.2f} s"
        )
        _vacuum(tables)
        orm_seconds, _ = _timed(
            lambda name=name, as_of=as_of: orm_loop_run(name, member_ids=sample_ids, as_of=as_of)
        )
        log(f"  ORM loop on {len(sample_ids):,} members (rolled back): {orm_seconds:.2f} s")
        _vacuum(tables)
        parts = [
            _worker(name, as_of, low, cut, chunk_size),
            _worker(name, as_of, cut + 1, high, chunk_size),
        ]
        result = CaseResult(
            name=name,
            floor_seconds=floor_seconds,
            floor_rows=floor_rows,
            floor_checks_seconds=floor_checks_seconds,
            orm_seconds=orm_seconds,
            orm_members=len(sample_ids),
            job_seconds=sum(p["seconds"] for p in parts),
            job_rows=sum(p["rows"] for p in parts),
            job_chunks=sum(p["chunks"] for p in parts),
            job_comparable=sum(p["totals"][key] for p in parts for key in COMPARABLE[name][1]),
            rss_kb=[p["peak_rss_kb"] for p in parts],
            baseline_rss_kb=[p["baseline_rss_kb"] for p in parts],
            rss_members=[
                Member.objects.filter(id__lte=cut).count(),
                Member.objects.filter(id__gt=cut).count(),
            ],
        )
        result.orm_ratio = result.orm_per_member() / result.job_per_member(members)
        log(
            f"  job ({result.job_chunks} chunks, two workers in turn): {result.job_seconds:.2f} s, "
            f"{result.job_comparable:,} {COMPARABLE[name][0]}; peak RSS "
            f"{result.rss_kb[0] / 1024:.0f} MiB over {result.rss_members[0]:,} members, "
            f"{result.rss_kb[1] / 1024:.0f} MiB over {result.rss_members[1]:,}"
        )
        results.append(result)
    return members, results


def report(members: int, results: list[CaseResult]) -> list[str]:
    lines = [
        "| job | floor s | job s | job / floor | ORM loop ms per member | job µs per member | "
        "ORM / job per member | peak RSS MiB (10% / 90% of members) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.floor_seconds:.2f} | {r.job_seconds:.2f} | {r.ratio_to_floor:.2f}x | "
            f"{r.orm_per_member() * 1000:.2f} | {r.job_per_member(members) * 1e6:.1f} | "
            f"{r.orm_ratio:,.0f}x | "
            f"{r.rss_kb[0] / 1024:.0f} / {r.rss_kb[1] / 1024:.0f} |"
        )
    return lines
