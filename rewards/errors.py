"""This app's domain errors; ``code`` is the contract's error code. The API maps the families
(NotFound 404, Conflict 409) in ``loyalty_site.api.errors``."""

from django.utils.translation import gettext_lazy as _

from members.errors import Conflict, InsufficientPoints, NotFound

__all__ = [
    "InsufficientPoints",
    "LimitReached",
    "NotCancellable",
    "RedemptionNotFound",
    "RewardNotFound",
    "RewardOutOfStock",
    "RewardUnavailable",
    "TierRequired",
    "VoucherCancelled",
    "VoucherExpired",
    "VoucherNotFound",
    "VoucherUsed",
]


class RewardNotFound(NotFound):
    # Unknown and inactive rewards look the same: a withdrawn reward is not in the catalog.
    default_message = _("No such reward.")


class RedemptionNotFound(NotFound):
    default_message = _("No such redemption.")


class VoucherNotFound(NotFound):
    default_message = _("No such voucher.")


class RewardUnavailable(Conflict):
    code = "reward_unavailable"
    default_message = _("The reward cannot be redeemed at this time.")


class RewardOutOfStock(Conflict):
    code = "out_of_stock"
    default_message = _("The reward is out of stock.")


class TierRequired(Conflict):
    code = "tier_required"
    default_message = _("The member's tier is too low for this reward.")


class PlanRequired(Conflict):
    code = "plan_required"
    default_message = "This reward is for members of a paid plan."


class LimitReached(Conflict):
    code = "limit_reached"
    default_message = _("The member already holds as many of this reward as one member may.")


class NotCancellable(Conflict):
    code = "not_cancellable"
    default_message = _("Only an unused, unexpired redemption can be cancelled.")


class VoucherUsed(Conflict):
    code = "voucher_used"
    default_message = _("The voucher was already used.")


class VoucherExpired(Conflict):
    code = "voucher_expired"
    default_message = _("The voucher has expired.")


class VoucherCancelled(Conflict):
    code = "voucher_cancelled"
    default_message = _("The voucher was cancelled.")
