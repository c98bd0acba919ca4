from members.jobs.command import JobCommand


class Command(JobCommand):
    help = "End paid memberships whose term is over (or renew those that renew automatically)."
    job_name = "end_memberships"
    day_end = True
