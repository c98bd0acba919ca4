"""Domain errors. Services raise them; the API maps their families to HTTP statuses in one
place (``loyalty_site.api.errors``) and forms show their message. ``code`` is the contract's
error code.

Messages are lazy translations (a message with values is ``format_lazy`` of one, numbers in it
``members.formats.whole_number_lazy``): they are worked out when read, so the portal shows them
in the member's language, while the API answers them in English, as the contract writes them,
whatever language the request asks for. Codes are never translated."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class LoyaltyError(Exception):
    code = "invalid"
    default_message: str | Promise = _("The request is not valid.")

    def __init__(
        self, message: str | Promise | None = None, *, fields: dict[str, list[str | Promise]] | None = None
    ):
        self.message = message or self.default_message
        self.fields = fields
        super().__init__(self.message)


class InvalidRequest(LoyaltyError):
    """Bad input: answered 400."""


class NotFound(LoyaltyError):
    code = "not_found"
    default_message = _("Not found.")


class Forbidden(LoyaltyError):
    """The caller may not do this without something it did not bring: answered 403."""

    code = "forbidden"
    default_message = _("Not allowed.")


class Conflict(LoyaltyError):
    """The request is well formed but the state of things refuses it: answered 409."""

    code = "conflict"


class InvalidPoints(InvalidRequest):
    default_message = _("Points must be a whole number above zero.")


class MemberNotFound(NotFound):
    default_message = _("No such member.")


class MemberInactive(Conflict):
    code = "member_inactive"
    default_message = _("The member's account is not active.")


class InsufficientPoints(Conflict):
    code = "insufficient_points"
    default_message = _("The member does not have enough available points.")


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    default_message = _("That idempotency key was already used for a different request.")


class NothingToReverse(InvalidRequest):
    default_message = _("There are no points left to reverse for that source.")


class PurchaseTooOld(InvalidRequest):
    code = "purchase_too_old"
    default_message = _("The purchase is dated further back than this store may post.")


class AmountOverLimit(InvalidRequest):
    code = "amount_over_limit"
    default_message = _("The amount is above this store's largest purchase.")


class MemberTokenRequired(Forbidden):
    code = "member_token_required"
    default_message = _("A partner redeems only with the code from the member's card (member_token).")


class InvalidMemberToken(Forbidden):
    code = "invalid_member_token"
    default_message = _("That member card code is wrong, used or expired: ask the member for a new one.")
