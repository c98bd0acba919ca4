from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "rewards"

    def ready(self) -> None:
        from members.jobs import Job, job_register
        from members.schedule import DAILY

        from .services import VoucherExpiry, vouchers_expire_chunk

        job_register(Job("expire_vouchers", vouchers_expire_chunk, VoucherExpiry(), period=DAILY))
