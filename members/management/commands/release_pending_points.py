from members.jobs.command import JobCommand


class Command(JobCommand):
    help = "Make pending points whose return window has closed available."
    job_name = "release_pending_points"
