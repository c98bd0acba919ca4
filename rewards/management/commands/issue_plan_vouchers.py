from members.jobs.command import JobCommand


class Command(JobCommand):
    help = "Issue each paid plan's monthly voucher to its members (once per member and month)."
    job_name = "issue_plan_vouchers"
