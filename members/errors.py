"""Domain errors. Services raise them; the API maps their families to HTTP statuses in one
place (``loyalty_site.api.errors``) and forms show their message. ``code`` is the contract's
error code."""


class LoyaltyError(Exception):
    code = "invalid"
    default_message = "The request is not valid."

    def __init__(self, message: str | None = None, *, fields: dict[str, list[str]] | None = None):
        self.message = message or self.default_message
        self.fields = fields
        super().__init__(self.message)


class InvalidRequest(LoyaltyError):
    """Bad input: answered 400."""


class NotFound(LoyaltyError):
    code = "not_found"
    default_message = "Not found."


class Forbidden(LoyaltyError):
    """The caller may not do this without something it did not bring: answered 403."""

    code = "forbidden"
    default_message = "Not allowed."


class Conflict(LoyaltyError):
    """The request is well formed but the state of things refuses it: answered 409."""

    code = "conflict"


class InvalidPoints(InvalidRequest):
    default_message = "Points must be a whole number above zero."


class MemberNotFound(NotFound):
    default_message = "No such member."


class MemberInactive(Conflict):
    code = "member_inactive"
    default_message = "The member's account is not active."


class InsufficientPoints(Conflict):
    code = "insufficient_points"
    default_message = "The member does not have enough available points."


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    default_message = "That idempotency key was already used for a different request."


class NothingToReverse(InvalidRequest):
    default_message = "There are no points left to reverse for that source."


class PurchaseTooOld(InvalidRequest):
    code = "purchase_too_old"
    default_message = "The purchase is dated further back than this store may post."


class AmountOverLimit(InvalidRequest):
    code = "amount_over_limit"
    default_message = "The amount is above this store's largest purchase."


class MemberTokenRequired(Forbidden):
    code = "member_token_required"
    default_message = "A partner redeems only with the code from the member's card (member_token)."


class InvalidMemberToken(Forbidden):
    code = "invalid_member_token"
    default_message = "That member card code is wrong, used or expired: ask the member for a new one."
