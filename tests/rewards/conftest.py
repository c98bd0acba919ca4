from __future__ import annotations

import pytest

from members.ledger.invariants import ledger_violations
from rewards.models import Reward


@pytest.fixture
def rewards(program):
    """The contract's four default rewards, by code."""
    from rewards.demo import seed_program

    seed_program()
    return {reward.code: reward for reward in Reward.objects.all()}


@pytest.fixture
def ledger_ok(db):
    """Asserts after the test that every ledger invariant still holds."""
    yield
    assert ledger_violations() == []
