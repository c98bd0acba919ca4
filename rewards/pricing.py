"""A reward's price for one member, and who may have it.

The catalog price is ``Reward.points_cost``. Another app may offer some members a lower price
(a personalised offer, in campaigns) by registering a ``PriceSource`` from its ``ready()``:
rewards imports none of them. Every source answers for a whole list of rewards in a fixed
number of queries, so the catalog costs the same whatever its size; the lowest price wins.

A member-only reward (``Reward.members_of_plan``) is for members with a running membership of
that plan; ``plans_running`` reads them in one query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from members.memberships import running_memberships
from members.models import Member

if TYPE_CHECKING:
    from .models import Redemption, Reward


@dataclass(frozen=True)
class PriceCut:
    """A lower price for one member and reward: ``points`` instead of the catalog's, because of
    ``source`` (``offer:<code>``, also what the redemption records), named ``label`` for the
    member. ``ref`` is the source's own handle, given back to ``use``."""

    points: int
    source: str
    label: str
    ref: Any = field(default=None, compare=False)
    origin: PriceSource | None = field(default=None, compare=False, repr=False)


class PriceSource(Protocol):
    def cuts(self, member: Member, rewards: Sequence[Reward], at: datetime) -> dict[int, PriceCut]:
        """The lower prices ``member`` may have at ``at``, by reward id (a fixed number of
        queries)."""

    def use(self, *, member: Member, reward: Reward, cut: PriceCut, redemption: Redemption) -> bool:
        """Take the cut for ``redemption``, in its transaction and under the member's lock.
        False when it can no longer be had (used up meanwhile, budget spent): the catalog
        price is charged instead."""


_SOURCES: list[PriceSource] = []


def price_source_register(source: PriceSource) -> None:
    if source not in _SOURCES:
        _SOURCES.append(source)


def member_price_cuts(member: Member, rewards: Sequence[Reward], at: datetime) -> dict[int, PriceCut]:
    """The lowest price below the catalog's that ``member`` may have for each of ``rewards``."""
    best: dict[int, PriceCut] = {}
    if not rewards:
        return best
    by_id = {reward.pk: reward for reward in rewards}
    for source in _SOURCES:
        for reward_id, cut in source.cuts(member, rewards, at).items():
            reward = by_id.get(reward_id)
            if reward is None or cut.points >= reward.points_cost:
                continue
            if reward_id not in best or cut.points < best[reward_id].points:
                best[reward_id] = PriceCut(cut.points, cut.source, cut.label, cut.ref, source)
    return best


def plans_running(member: Member, at: datetime) -> set[int]:
    """The plan ids of the member's running memberships (one query)."""
    return set(running_memberships(at).filter(member=member).values_list("plan_id", flat=True))
