from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "rewards"

    def ready(self) -> None:
        from members.jobs import Job, job_register
        from members.privacy import export_section_register

        from .privacy import vouchers_export
        from .services import VoucherExpiry, vouchers_expire_chunk

        job_register(Job("expire_vouchers", vouchers_expire_chunk, VoucherExpiry()))
        export_section_register("vouchers", vouchers_export)
