"""The floor of ``make bench-api``: bare Django views that do what an endpoint must do in the
database, in hand-written SQL, with no middleware, no DRF and no ORM, served by the same
gunicorn as the site (only under ``bench.settings_floor``) so the two are measured side by side.

Each view mirrors one path of the site under ``/floor``:

- ``POST /floor/api/v1/purchases/``: look up the key, lock the member, insert the purchase, its
  ledger entry and its lot, bump the pending balance. Points at the base rate, no campaign.
- ``GET /floor/api/v1/members/<number>/``: look up the key, then the member's answer (tier, next
  tier and what it still needs, balances, the next expiring points) in one statement.
- ``POST /floor/api/v1/redemptions/``: look up the key, lock the member, read the reward, check
  the balance, insert the redemption and its entry, take the points from the soonest-expiring
  lots, record the allocations, lower the balance.
- ``GET /floor/portal/``: the dashboard's figures (balances, tier progress, pending arrivals,
  expiring points, recent entries, twelve months of totals) for the session's member, as a
  bare HTML page.

Input is trusted (the load scripts send only valid requests); what the site checks on top is
the price of its contract, not of the database.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from html import escape

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from rewards.models import new_voucher_code

PREFIX = "/floor/"


def _store(request: HttpRequest, cursor) -> tuple[int, str] | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, raw_key = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    cursor.execute(
        "SELECT s.id, s.name FROM members_apikey k JOIN members_store s ON s.id = k.store_id"
        " WHERE k.digest = %s AND k.revoked_at IS NULL AND s.is_active",
        [hashlib.sha256(raw_key.strip().encode()).hexdigest()],
    )
    return cursor.fetchone()


def _unauthenticated() -> JsonResponse:
    return JsonResponse({"error": {"code": "unauthenticated", "message": "No key."}}, status=401)


def _not_found() -> JsonResponse:
    return JsonResponse({"error": {"code": "not_found", "message": "Not found."}}, status=404)


def purchase(request: HttpRequest) -> HttpResponse:
    body = json.loads(request.body)
    amount = Decimal(body["amount"])
    purchased_at = parse_datetime(body["purchased_at"])
    available_at = purchased_at + timedelta(days=14)
    expires_at = purchased_at + timedelta(days=365)
    points = math.floor(amount)
    now = timezone.now()
    with connection.cursor() as cursor:
        store = _store(request, cursor)
        if store is None:
            return _unauthenticated()
        with transaction.atomic():
            cursor.execute(
                "SELECT id, points_available + points_pending FROM members_member"
                " WHERE member_number = %s FOR UPDATE",
                [body["member"]],
            )
            row = cursor.fetchone()
            if row is None:
                return _not_found()
            member_id, total = row
            cursor.execute(
                "INSERT INTO members_purchase (member_id, store_id, external_id, amount, currency,"
                " purchased_at, available_at, points_awarded, refunded_amount, points_reversed,"
                " payload_digest, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 0, 0, '', %s)"
                " RETURNING id",
                [
                    member_id,
                    store[0],
                    body["external_id"],
                    amount,
                    body["currency"],
                    purchased_at,
                    available_at,
                    points,
                    now,
                ],
            )
            purchase_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO members_ledgerentry (member_id, kind, points, balance_after, source_type,"
                " source_id, description, idempotency_key, created_at)"
                " VALUES (%s, 'earn', %s, %s, 'purchase', %s, %s, %s, %s) RETURNING id",
                [
                    member_id,
                    points,
                    total + points,
                    str(purchase_id),
                    f"Purchase {body['external_id']} at {store[1]}"[:255],
                    f"purchase:{purchase_id}",
                    now,
                ],
            )
            entry_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO members_pointlot (member_id, entry_id, points, remaining, is_pending,"
                " available_at, expires_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [member_id, entry_id, points, points, available_at > now, available_at, expires_at, now],
            )
            cursor.execute(
                "UPDATE members_member SET points_pending = points_pending + %s, last_activity_at = %s"
                " WHERE id = %s",
                [points, now, member_id],
            )
    return JsonResponse(
        {
            "external_id": body["external_id"],
            "member": body["member"],
            "amount": f"{amount:.2f}",
            "points_awarded": points,
            "available_at": available_at.isoformat(),
            "awards": [{"source": "base", "points": points}],
        },
        status=201,
    )


MEMBER_SQL = """
SELECT m.member_number, m.email, m.first_name, m.last_name, t.code, t.name,
       m.points_available, m.points_pending, m.referral_code,
       nt.code, nt.name, nt.threshold - COALESCE(spend.total, 0),
       (SELECT json_agg(json_build_array(e.points, e.on_day) ORDER BY e.on_day) FROM (
            SELECT sum(l.remaining) AS points, (l.expires_at AT TIME ZONE 'UTC')::date AS on_day
            FROM members_pointlot l
            WHERE l.member_id = m.id AND l.remaining > 0 AND l.expires_at IS NOT NULL
            GROUP BY 2 ORDER BY 2 LIMIT 3) e)
FROM members_member m
LEFT JOIN members_tier t ON t.id = m.tier_id
LEFT JOIN LATERAL (SELECT code, name, threshold FROM members_tier
                   WHERE rank > COALESCE(t.rank, -1) ORDER BY rank LIMIT 1) nt ON true
LEFT JOIN LATERAL (SELECT sum(p.amount - p.refunded_amount) AS total FROM members_purchase p
                   WHERE p.member_id = m.id AND p.purchased_at > %s AND p.purchased_at <= %s) spend ON true
WHERE m.member_number = %s
"""


def member(request: HttpRequest, number: str) -> HttpResponse:
    now = timezone.now()
    with connection.cursor() as cursor:
        if _store(request, cursor) is None:
            return _unauthenticated()
        cursor.execute(MEMBER_SQL, [now - timedelta(days=365), now, number])
        row = cursor.fetchone()
    if row is None:
        return _not_found()
    (
        number,
        email,
        first,
        last,
        tier_code,
        tier_name,
        available,
        pending,
        referral,
        next_code,
        next_name,
        needed,
        expiring,
    ) = row
    return JsonResponse(
        {
            "member_number": number,
            "email": email,
            "first_name": first,
            "last_name": last,
            "tier": {"code": tier_code, "name": tier_name} if tier_code else None,
            "points": {"available": available, "pending": pending},
            "next_tier": None
            if next_code is None
            else {"code": next_code, "name": next_name, "spend_needed": f"{max(needed, 0):.2f}"},
            "expiring": [{"points": p, "expires_at": d} for p, d in (expiring or [])],
            "referral_code": referral,
        }
    )


def redemption(request: HttpRequest) -> HttpResponse:
    body = json.loads(request.body)
    now = timezone.now()
    with connection.cursor() as cursor:
        store = _store(request, cursor)
        if store is None:
            return _unauthenticated()
        with transaction.atomic():
            cursor.execute(
                "SELECT id, points_available, points_pending FROM members_member"
                " WHERE member_number = %s FOR UPDATE",
                [body["member"]],
            )
            row = cursor.fetchone()
            if row is None:
                return _not_found()
            member_id, available, pending = row
            cursor.execute(
                "SELECT id, points_cost, cash_value, name FROM rewards_reward WHERE code = %s AND is_active",
                [body["reward"]],
            )
            reward_id, cost, cash_value, name = cursor.fetchone()
            if available < cost:
                return JsonResponse({"error": {"code": "insufficient_points", "message": ""}}, status=409)
            code, expires_at = new_voucher_code(), now + timedelta(days=90)
            cursor.execute(
                "INSERT INTO rewards_redemption (member_id, reward_id, status, points_spent, cash_value,"
                " voucher_code, expires_at, store_id, idempotency_key, created_at, points_returned)"
                " VALUES (%s, %s, 'issued', %s, %s, %s, %s, %s, %s, %s, 0) RETURNING id",
                [
                    member_id,
                    reward_id,
                    cost,
                    cash_value,
                    code,
                    expires_at,
                    store[0],
                    f"api:{store[0]}:{body['idempotency_key']}",
                    now,
                ],
            )
            redemption_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO members_ledgerentry (member_id, kind, points, balance_after, source_type,"
                " source_id, description, idempotency_key, created_at)"
                " VALUES (%s, 'redeem', %s, %s, 'redemption', %s, %s, %s, %s) RETURNING id",
                [
                    member_id,
                    -cost,
                    available + pending - cost,
                    str(redemption_id),
                    f"Redeemed: {name}"[:255],
                    f"redemption:{redemption_id}",
                    now,
                ],
            )
            entry_id = cursor.fetchone()[0]
            # The soonest-expiring available lots that cover the cost, taken in one statement.
            cursor.execute(
                """
                WITH open AS (
                    SELECT id, remaining, sum(remaining) OVER (ORDER BY expires_at NULLS LAST, id)
                           - remaining AS before
                    FROM members_pointlot
                    WHERE member_id = %s AND remaining > 0 AND NOT is_pending
                ), take AS (
                    SELECT id, least(remaining, %s - before) AS points FROM open WHERE before < %s
                ), taken AS (
                    UPDATE members_pointlot l SET remaining = l.remaining - take.points
                    FROM take WHERE l.id = take.id RETURNING l.id, take.points
                )
                INSERT INTO members_lotallocation (entry_id, lot_id, points)
                SELECT %s, id, points FROM taken
                """,
                [member_id, cost, cost, entry_id],
            )
            cursor.execute(
                "UPDATE members_member SET points_available = points_available - %s, last_activity_at = %s"
                " WHERE id = %s",
                [cost, now, member_id],
            )
    return JsonResponse(
        {
            "id": redemption_id,
            "member": body["member"],
            "reward": body["reward"],
            "voucher_code": code,
            "points_spent": cost,
            "points_returned": 0,
            "status": "issued",
            "expires_at": expires_at.isoformat(),
            "created_at": now.isoformat(),
        },
        status=201,
    )


DASHBOARD_SQL = """
SELECT m.first_name, m.member_number, m.points_available, m.points_pending, t.name,
       nt.name, nt.threshold - COALESCE(
           (SELECT sum(p.amount - p.refunded_amount) FROM members_purchase p
            WHERE p.member_id = m.id AND p.purchased_at > %(year_ago)s AND p.purchased_at <= %(now)s), 0),
       (SELECT json_agg(json_build_array(x.points, x.on_day)) FROM (
            SELECT sum(remaining) AS points, (available_at AT TIME ZONE 'UTC')::date AS on_day
            FROM members_pointlot WHERE member_id = m.id AND is_pending AND remaining > 0
            GROUP BY 2 ORDER BY 2 LIMIT 5) x),
       (SELECT json_agg(json_build_array(x.points, x.on_day)) FROM (
            SELECT sum(remaining) AS points, (expires_at AT TIME ZONE 'UTC')::date AS on_day
            FROM members_pointlot WHERE member_id = m.id AND remaining > 0 AND expires_at IS NOT NULL
            GROUP BY 2 ORDER BY 2 LIMIT 3) x),
       (SELECT json_agg(json_build_array(x.kind, x.points, x.description, x.created_at)) FROM (
            SELECT kind, points, description, created_at FROM members_ledgerentry
            WHERE member_id = m.id ORDER BY created_at DESC, id DESC LIMIT 6) x),
       (SELECT json_agg(json_build_array(x.month, x.earned, x.used)) FROM (
            SELECT date_trunc('month', created_at) AS month,
                   sum(points) FILTER (WHERE points > 0) AS earned,
                   sum(points) FILTER (WHERE points < 0) AS used
            FROM members_ledgerentry WHERE member_id = m.id AND created_at >= %(year_ago)s
            GROUP BY 1 ORDER BY 1) x)
FROM members_member m
LEFT JOIN members_tier t ON t.id = m.tier_id
LEFT JOIN LATERAL (SELECT name, threshold FROM members_tier
                   WHERE rank > COALESCE(t.rank, -1) ORDER BY rank LIMIT 1) nt ON true
WHERE m.user_id = %(user_id)s
"""


def dashboard(request: HttpRequest) -> HttpResponse:
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT session_data FROM django_session WHERE session_key = %s AND expire_date > %s",
            [session_key, now],
        )
        row = cursor.fetchone()
        user_id = SessionStore().decode(row[0]).get("_auth_user_id") if row else None
        if user_id is None:
            return HttpResponse("Log in first.", status=403)
        cursor.execute(DASHBOARD_SQL, {"year_ago": now - timedelta(days=365), "now": now, "user_id": user_id})
        row = cursor.fetchone()
    if row is None:
        return HttpResponse("No member.", status=200)
    first, number, available, pending, tier, next_tier, needed, arrivals, expiring, recent, months = row
    lines = [
        f"<h1>Hi, {escape(first)}</h1><p>{escape(number)}</p>",
        f"<p>{available} available, {pending} pending; {escape(tier or '')}",
        f" ({escape(next_tier)}: {max(needed, 0):.2f} to go)</p>" if next_tier else "</p>",
        *(f"<li>+{p} on {d}</li>" for p, d in arrivals or []),
        *(f"<li>{p} expire on {d}</li>" for p, d in expiring or []),
        *(f"<li>{escape(k)} {p:+d} {escape(text)} {at}</li>" for k, p, text, at in recent or []),
        *(f"<li>{m}: +{e or 0} {u or 0}</li>" for m, e, u in months or []),
    ]
    return HttpResponse("<!doctype html><title>My points</title>" + "".join(lines))


ROUTES: list[tuple[str, str, Callable[..., HttpResponse]]] = [
    ("POST", "api/v1/purchases/", purchase),
    ("POST", "api/v1/redemptions/", redemption),
    ("GET", "portal/", dashboard),
]
MEMBER_PATH = "api/v1/members/"


class FloorMiddleware:
    """First in the bench settings' middleware: a ``/floor/`` request goes straight to its bare
    view and skips every other middleware; anything else goes on to the site untouched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PREFIX):
            return self.get_response(request)
        path = request.path[len(PREFIX) :]
        for method, route, view in ROUTES:
            if path == route and request.method == method:
                return view(request)
        if request.method == "GET" and path.startswith(MEMBER_PATH) and path.endswith("/"):
            return member(request, path[len(MEMBER_PATH) : -1])
        return _not_found()
