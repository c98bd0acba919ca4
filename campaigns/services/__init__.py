"""Every write of earning, one transaction each. The public services:

- purchases: ``purchase_record``, ``referral_settle``
- refunds: ``refund_record``
- actions: ``activity_submit``, ``activity_approve``, ``activity_reject``, ``signup_bonus_award``,
  ``birthday_bonuses_award`` (the ``birthday_bonuses`` job; ``ways_to_earn`` is a selector,
  re-exported here)
- settlement: ``campaigns_settle`` (the ``settle_campaigns`` job)
- imports: ``purchase_import_create``, ``purchase_import_process_chunk``
"""

from ..selectors import ways_to_earn
from .actions import (
    ActivityOutcome,
    BirthdayResult,
    activity_approve,
    activity_reject,
    activity_submit,
    birthday_bonuses_award,
    signup_bonus_award,
)
from .imports import purchase_import_create, purchase_import_process_chunk
from .purchases import PurchaseOutcome, purchase_record, referral_settle
from .refunds import RefundOutcome, refund_record
from .settlement import SettlementReport, campaigns_settle

__all__ = [
    "ActivityOutcome",
    "BirthdayResult",
    "PurchaseOutcome",
    "RefundOutcome",
    "SettlementReport",
    "activity_approve",
    "activity_reject",
    "activity_submit",
    "birthday_bonuses_award",
    "campaigns_settle",
    "purchase_import_create",
    "purchase_import_process_chunk",
    "purchase_record",
    "referral_settle",
    "refund_record",
    "signup_bonus_award",
    "ways_to_earn",
]
