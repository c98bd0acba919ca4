"""Celery: the broker, reliability settings and the one beat schedule."""

import environ

env = environ.Env()
_redis_url = env.str("REDIS_URL", default="")

if _redis_url:
    CELERY_BROKER_URL = _redis_url
    # Longer than the longest chunk, so an unacknowledged chunk is not redelivered while it is
    # still running on a live worker. CELERY_VISIBILITY_TIMEOUT (seconds) changes it; the fault
    # tests use a short one.
    _visibility_timeout = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _visibility_timeout,
        # Workers sweep for messages a dead worker took and never acknowledged every few seconds
        # (kombu's default sweeps about every 100 s), so they go out again soon after the timeout.
        "unacked_restore_interval": max(1, min(10, _visibility_timeout // 4)),
        "unacked_restore_throttle": 1,
    }
else:
    # Embedded broker for `make run` with no server: messages are files in .run/broker.
    import os
    from pathlib import Path

    _run_dir = os.environ.get("LOYALTY_RUN_DIR") or Path(__file__).resolve().parent.parent.parent / ".run"
    _broker_dir = Path(_run_dir) / "broker"
    # Any command may queue a task (seed_demo's memberships mail their tier), not only `serve`.
    for _folder in ("out", "processed"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }

CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged after it finishes, and given back to the queue if its worker dies:
# every job chunk is idempotent, so running one twice is safe and losing one is not.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

from celery.schedules import crontab  # noqa: E402

# The one schedule. Each task is a thin wrapper over a service; see DESIGN.md, "Jobs".
# ``scheduled`` messages run once per period however many beats send them (members.schedule).
SCHEDULED = {"scheduled": True}
CELERY_BEAT_SCHEDULE = {
    "recalculate-tiers": {
        "task": "members.tasks.tiers_recalculate_task",
        "kwargs": SCHEDULED,
        "schedule": crontab(hour=2, minute=0),
    },
    # Before the tier job, so a membership renewed tonight still holds its tier floor there.
    "end-memberships": {
        "task": "members.tasks.memberships_end_task",
        "kwargs": SCHEDULED,
        "schedule": crontab(hour=1, minute=30),
    },
    "expire-points": {
        "task": "members.tasks.points_expire_task",
        "kwargs": SCHEDULED,
        "schedule": crontab(hour=2, minute=30),
    },
    "release-pending-points": {
        "task": "members.tasks.points_release_pending_task",
        "kwargs": SCHEDULED,
        "schedule": crontab(minute=5),
    },
    "send-expiry-reminders": {
        "task": "members.tasks.expiry_reminders_send_task",
        "kwargs": SCHEDULED,
        "schedule": crontab(hour=9, minute=0),
    },
    "check-ledger": {
        "task": "members.tasks.ledger_check_task",
        "kwargs": SCHEDULED,
        "schedule": crontab(hour=4, minute=0),
    },
    "settle-campaigns": {
        "task": "campaigns.tasks.campaigns_settle_task",
        "kwargs": SCHEDULED,
        "schedule": crontab(minute=15),
    },
    "birthday-bonuses": {
        "task": "campaigns.tasks.birthday_bonuses_award_task",
        "kwargs": SCHEDULED,
        "schedule": crontab(hour=6, minute=0),
    },
    "issue-plan-vouchers": {
        "task": "rewards.tasks.plan_vouchers_issue_task",
        "kwargs": SCHEDULED,
        "schedule": crontab(hour=7, minute=0),
    },
    "webhooks-sweep": {
        "task": "members.webhooks.tasks.webhooks_sweep_task",
        "kwargs": SCHEDULED,
        "schedule": crontab(),  # every minute: retries that are due, events never dispatched
    },
    "webhook-history-purge": {
        "task": "members.webhooks.tasks.webhook_history_purge_task",
        "kwargs": SCHEDULED,
        "schedule": crontab(hour=4, minute=40),
    },
    "refresh-segments": {
        "task": "campaigns.tasks.segments_refresh_task",
        "kwargs": SCHEDULED,
        "schedule": crontab(hour=1, minute=30),
    },
    "recompute-challenges": {
        "task": "campaigns.engagement.tasks.challenges_recompute_task",
        "kwargs": SCHEDULED,
        "schedule": crontab(hour=2, minute=30),
    },
    "expire-vouchers": {
        "task": "rewards.tasks.vouchers_expire_task",
        "kwargs": SCHEDULED,
        "schedule": crontab(hour=3, minute=0),
    },
}
