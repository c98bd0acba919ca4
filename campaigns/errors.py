"""Domain errors of earning; the API maps them by family (``members.errors``)."""

from members.errors import Conflict, InvalidRequest, NotFound


class DuplicateExternalId(Conflict):
    code = "duplicate_external_id"
    default_message = "That external_id was already used by this store for a different request."


class RefundExceedsPurchase(InvalidRequest):
    default_message = "The refund is more than is left to refund of that purchase."


class PurchaseNotFound(NotFound):
    default_message = "No such purchase for this store."


class UnknownActivity(InvalidRequest):
    default_message = "No active rule awards points for that activity type."


class ActivityLimitReached(Conflict):
    code = "limit_reached"
    default_message = "The member has reached the limit for this activity in this period."


class ActivityNotPending(Conflict):
    code = "not_pending"
    default_message = "That activity was already reviewed."


class OfferNotFound(NotFound):
    code = "offer_not_found"
    default_message = "No such offer for this member."
