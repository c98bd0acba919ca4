"""Signals the core sends so other apps can react without the core importing them
(``campaigns`` awards the sign-up bonus on ``member_enrolled``, for instance)."""

from django.dispatch import Signal

# Sent after commit with ``member_id`` and ``channel`` ("api", "signup", "admin", "import").
member_enrolled = Signal()

# Sent inside the erasure's transaction with ``member_id``: other apps blank the personal data
# they keep about the member (campaigns: the links of social-share reports).
member_erasing = Signal()
