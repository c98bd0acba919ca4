from members.jobs.command import JobCommand


class Command(JobCommand):
    help = "Expire points: lots past their expiry and, in inactivity mode, the points of inactive members."
    job_name = "expire_points"
