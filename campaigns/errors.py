"""Domain errors of earning; the API maps them by family (``members.errors``)."""

from django.utils.translation import gettext_lazy as _

from members.errors import Conflict, InvalidRequest, NotFound


class DuplicateExternalId(Conflict):
    code = "duplicate_external_id"
    default_message = _("That external_id was already used by this store for a different request.")


class RefundExceedsPurchase(InvalidRequest):
    default_message = _("The refund is more than is left to refund of that purchase.")


class PurchaseNotFound(NotFound):
    default_message = _("No such purchase for this store.")


class UnknownActivity(InvalidRequest):
    default_message = _("No active rule awards points for that activity type.")


class ActivityLimitReached(Conflict):
    code = "limit_reached"
    default_message = _("The member has reached the limit for this activity in this period.")


class ActivityNotPending(Conflict):
    code = "not_pending"
    default_message = _("That activity was already reviewed.")


class OfferNotFound(NotFound):
    code = "offer_not_found"
    default_message = _("No such offer for this member.")


class EventNotFound(NotFound):
    default_message = _("No such event.")


class EventFull(Conflict):
    code = "event_full"
    default_message = _("The event has no seat left.")


class EventClosed(Conflict):
    code = "event_closed"
    default_message = _("The event is not open for this now.")
