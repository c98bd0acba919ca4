from members.jobs.command import JobCommand


class Command(JobCommand):
    help = "Recalculate every member's tier: re-qualify those whose hold ended, catch-up upgrades for all."
    job_name = "recalculate_tiers"
