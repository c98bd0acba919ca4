"""What every request reads and staff change a few times a year (the program's settings, the
tiers, the stores' API keys, and, registered by their apps, the campaigns a purchase may meet
and the rewards), kept in each process's memory and checked against one version stamp in the
shared cache (Redis in production) at most once per request.

Saving, updating or deleting one of those rows (admin, the tier-draft publish, revoking a key)
bumps the stamp through ``config_changed``: the models' signals and their querysets' ``update``
call it, so every process reloads on its next request. The stamp is bumped at once, so this
process and the rest of its transaction see the change, and again after the change commits:
another process that reloaded in between read the rows as they were, and the second bump makes
it read them again. While a change of this process waits for its commit, nothing is kept. When
the cache cannot be reached, nothing is kept either: every read goes to the database.

Values kept here are shared by every request of the process: read them, never change them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import models, transaction

if TYPE_CHECKING:
    from .models import Program, Tier

logger = logging.getLogger(__name__)
STAMP_KEY = "loyalty:config:stamp"
# Outside requests (a task recording a CSV of purchases), how long a stamp read holds.
RECHECK_SECONDS = 1.0
T = TypeVar("T")


class _State(threading.local):
    def __init__(self) -> None:
        self.stamp: str | None = None
        self.values: dict[str, Any] = {}
        self.in_request = False
        self.checked = False  # the stamp was read during the current request
        self.read_at = 0.0  # when the stamp was last read (time.monotonic)
        self.dirty = False  # a change of this process is not committed yet


_state = _State()


def cached(name: str, load: Callable[[], T]) -> T:
    """The value ``load()`` returned for ``name`` since the stamp last moved (loaded now when it
    moved). In a request the stamp is read once; elsewhere (tasks, commands) at most once every
    ``RECHECK_SECONDS``, and at once after a change made in this thread."""
    state = _state
    if state.stamp is None or not (state.checked if state.in_request else _recent(state.read_at)):
        stamp = _read_stamp()
        if stamp != state.stamp:
            state.values = {}
            state.stamp = stamp
        state.checked = state.in_request
        state.read_at = time.monotonic()
    try:
        return state.values[name]
    except KeyError:
        pass
    stamp = state.stamp
    value = load()
    if not state.dirty and stamp is not None and state.stamp == stamp:
        state.values[name] = value
    return value


def config_changed(**kwargs: Any) -> None:
    """Every process reloads what it keeps here (a signal receiver, or called directly)."""
    _bump()
    _state.dirty = True
    transaction.on_commit(_committed)


def forget() -> None:
    """Drop what this thread keeps, so that the next call reads the stamp (tests call it when
    they roll the database back under it)."""
    _state.values = {}
    _state.stamp = None


def _committed() -> None:
    _state.dirty = False
    _bump()


def _bump() -> None:
    try:
        cache.set(STAMP_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:  # the cache is down: processes read no stamp, so keep nothing (_read_stamp)
        logger.warning("could not bump the config stamp", exc_info=True)
    _state.values = {}
    _state.stamp = None


def _recent(read_at: float) -> bool:
    return time.monotonic() - read_at < RECHECK_SECONDS


def _read_stamp() -> str:
    try:
        stamp = cache.get(STAMP_KEY)
        if stamp is None:  # a new or cleared cache: start a stamp (another process may win the race)
            cache.add(STAMP_KEY, uuid.uuid4().hex, timeout=None)
            stamp = cache.get(STAMP_KEY)
    except Exception:  # the cache is down: a stamp of its own, so that what is loaded is not kept
        logger.warning("could not read the config stamp", exc_info=True)
        return f"unreachable:{uuid.uuid4().hex}"
    return stamp


def _request_started(**kwargs: Any) -> None:
    _state.in_request = True
    _state.checked = False
    _state.dirty = False


def _request_finished(**kwargs: Any) -> None:
    _state.in_request = False
    _state.checked = False
    _state.dirty = False
    _state.read_at = 0.0  # what runs next in this thread reads the stamp again


request_started.connect(_request_started, dispatch_uid="members.config.request_started")
request_finished.connect(_request_finished, dispatch_uid="members.config.request_finished")


class ConfigQuerySet(models.QuerySet):
    """A queryset of rows kept by ``cached``: bulk writes, which send no signal, bump the stamp
    too. ``counters`` name columns that change on their own (a campaign's spent budget) and are
    never read from the kept copy."""

    counters: frozenset[str] = frozenset()

    def update(self, **kwargs: Any) -> int:
        rows = super().update(**kwargs)
        if set(kwargs) - self.counters:
            config_changed()
        return rows

    def bulk_create(self, objs, *args: Any, **kwargs: Any):
        created = super().bulk_create(objs, *args, **kwargs)
        config_changed()
        return created


def watch(*model_classes: type[models.Model]) -> None:
    """Bump the stamp whenever a row of these models is saved or deleted."""
    from django.db.models.signals import post_delete, post_save

    for model in model_classes:
        uid = f"members.config.{model._meta.label_lower}"
        post_save.connect(config_changed, sender=model, dispatch_uid=f"{uid}.save", weak=False)
        post_delete.connect(config_changed, sender=model, dispatch_uid=f"{uid}.delete", weak=False)


# --- the core's kept rows ------------------------------------------------------------------


@dataclass(frozen=True)
class Tiers:
    """The tiers in rank order, with the lookups the hot paths need."""

    ordered: tuple[Tier, ...]
    by_id: dict[int, Tier] = field(default_factory=dict)

    def get(self, tier_id: int | None) -> Tier | None:
        return self.by_id.get(tier_id) if tier_id is not None else None

    def for_value(self, value: Decimal | int) -> Tier | None:
        """The highest tier whose threshold ``value`` reaches (``Tier.objects.for_value``)."""
        reached = [tier for tier in self.ordered if tier.threshold <= value]
        return reached[-1] if reached else None

    def above(self, tier: Tier | None) -> Tier | None:
        """The next tier up from ``tier`` (from no tier: the lowest)."""
        rank = tier.rank if tier is not None else -1
        return next((t for t in self.ordered if t.rank > rank), None)


def program() -> Program:
    """The program's settings (``Program.load()``), kept per process. Do not change it."""
    from .models import Program

    return cached("program", Program.load)


def tiers() -> Tiers:
    """Every tier, kept per process. Do not change them."""
    from .models import Tier

    def load() -> Tiers:
        ordered = tuple(Tier.objects.order_by("rank"))
        return Tiers(ordered, {tier.pk: tier for tier in ordered})

    return cached("tiers", load)
