from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "rewards"

    def ready(self) -> None:
        from members.config import watch

        from .models import Reward

        watch(Reward)  # redeeming reads the rewards each process keeps (members.config)

        from members.jobs import Job, job_register

        from .services import VoucherExpiry, vouchers_expire_chunk

        job_register(Job("expire_vouchers", vouchers_expire_chunk, VoucherExpiry()))
