"""The benchmark's pieces on a small data set: the generated ledger is consistent, and each
hand-written floor statement does exactly the work of its job (so the ratios compare like with
like)."""

import pytest
from django.utils import timezone

from bench.baselines import floor_run, orm_loop_run
from bench.data import bench_data_generate
from bench.runner import CASES, COMPARABLE
from members.jobs import job_run
from members.ledger.invariants import ledger_violations
from members.models import Member, PointLot, Purchase, Tier

from .conftest import snapshot


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_generated_data_is_consistent_and_each_floor_matches_its_job():
    now = timezone.now()
    bench_data_generate(members=200, purchases=2000, now=now)

    assert Member.objects.count() == 200 and Purchase.objects.count() == 2000
    assert PointLot.objects.count() == 2000
    expired = PointLot.objects.filter(expires_at__lte=now).count()
    assert 120 <= expired <= 280  # about 10%
    assert Member.objects.values("tier").distinct().count() == Tier.objects.count()
    assert ledger_violations() == []

    member_ids = list(Member.objects.values_list("pk", flat=True)[:10])
    for name, offset, _tables in CASES:
        as_of = now + offset
        before = snapshot()
        floor_rows = floor_run(name, as_of=as_of).rows
        orm_loop_run(name, member_ids=member_ids, as_of=as_of)
        assert snapshot() == before  # both baselines roll back

        _run, totals = job_run(name=name, as_of=as_of, chunk_size=25, notify=False)

        assert floor_rows == sum(getattr(totals, key) for key in COMPARABLE[name][1]) > 0, name
    assert ledger_violations() == []
    assert not PointLot.objects.filter(expires_at__lte=now, remaining__gt=0).exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_benchmark_refuses_a_database_not_named_for_benchmarks():
    """The test database (``test_loyalty...``) stands for a live one: generating bench data
    there would replace it."""
    from django.core.management.base import CommandError

    from bench.db import ensure_bench_database

    with pytest.raises(CommandError, match="is not a bench database"):
        ensure_bench_database()
