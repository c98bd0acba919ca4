"""Admin for the scheduled jobs' records: runs with their progress, and sent reminders."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy, ngettext

from .admin_base import ReadOnlyAdmin
from .models import ExpiryReminder, JobRun


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ["name", "as_of", "started_at", "finished_at", "progress_bar", "rows_changed", "outcome"]
    list_filter = ["name", "outcome"]
    date_hierarchy = "started_at"
    readonly_fields = [
        "name",
        "as_of",
        "started_at",
        "finished_at",
        "chunks_total",
        "chunks_done",
        "progress_bar",
        "rows_changed",
        "outcome",
        "detail",
    ]

    @admin.display(description=gettext_lazy("progress"))
    def progress_bar(self, obj: JobRun) -> str:
        chunks = ngettext("%(done)s/%(total)s chunk", "%(done)s/%(total)s chunks", obj.chunks_total) % {
            "done": obj.chunks_done,
            "total": obj.chunks_total,
        }
        return format_html(
            '<progress value="{}" max="100"></progress> {}% ({})', obj.progress, obj.progress, chunks
        )


@admin.register(ExpiryReminder)
class ExpiryReminderAdmin(ReadOnlyAdmin):
    list_display = ["member", "expires_on", "points", "created_at", "sent_at"]
    list_select_related = ["member"]
    search_fields = ["member__member_number", "member__email"]
    date_hierarchy = "expires_on"
    raw_id_fields = ["member"]
