"""``manage.py birthday_bonuses [--as-of DATE]``: pay the birthday rule to that day's birthdays."""

from members.jobs.command import JobCommand


class Command(JobCommand):
    help = "Pay the birthday bonus to every active member whose birthday it is, once a year."
    job_name = "birthday_bonuses"
