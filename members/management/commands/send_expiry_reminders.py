from members.jobs.command import JobCommand


class Command(JobCommand):
    help = "Mail members whose points expire in the next 30 days, once per member and expiry date."
    job_name = "send_expiry_reminders"
