"""Store API keys: issued once in the clear, kept as a SHA-256 digest, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from .config import cached
from .models import ApiKey, Store

KEY_PREFIX = "lk_"


def _digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def store_get_or_create(*, name: str, is_partner: bool | None = None) -> Store:
    """The store of that name, created if needed (an own store unless ``is_partner``). With
    ``is_partner`` given, an existing store is made a partner or an own store accordingly; with
    None it keeps its kind."""
    name = name.strip()
    if not name:
        raise ValueError("A store needs a name.")
    store = Store.objects.filter(name__iexact=name).first()
    if store:
        if is_partner is not None and store.is_partner != is_partner:
            store.is_partner = is_partner
            store.save(update_fields=["is_partner"])
        return store
    base = slugify(name)[:50] or "store"
    code, n = base, 1
    while Store.objects.filter(code=code).exists():
        n += 1
        code = f"{base}-{n}"
    return Store.objects.create(name=name, code=code, is_partner=bool(is_partner))


@transaction.atomic
def api_key_create(*, store: Store, name: str = "") -> tuple[ApiKey, str]:
    """A new key for ``store``; returns the row and the key in the clear (shown once)."""
    public = secrets.token_hex(4)
    raw_key = f"{KEY_PREFIX}{public}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        store=store, name=name, prefix=f"{KEY_PREFIX}{public}", digest=_digest(raw_key)
    )
    return key, raw_key


def api_key_revoke(*, key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_key_authenticate(raw_key: str) -> ApiKey | None:
    """The active key of an active store that ``raw_key`` is, or None. Keys found are kept per
    process (``members.config``): revoking a key or closing its store moves the stamp, so the
    next request of every process reads them again."""
    digest = _digest(raw_key)
    known: dict[str, ApiKey] = cached("api_keys", dict)
    key = known.get(digest)
    if key is None:
        key = (
            ApiKey.objects.select_related("store")
            .filter(digest=digest, revoked_at__isnull=True, store__is_active=True)
            .first()
        )
        if key is None:
            return None
        known[digest] = key
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=5):
        # Recorded coarsely: one write per key every few minutes, not one per request.
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
