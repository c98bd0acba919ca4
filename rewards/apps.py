from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "rewards"

    def ready(self) -> None:
        from members.config import watch

        from .models import Reward

        watch(Reward)  # redeeming reads the rewards each process keeps (members.config)

        from members.jobs import Job, job_register
        from members.privacy import export_section_register
        from members.schedule import DAILY

        from .privacy import vouchers_export
        from .services import VoucherExpiry, vouchers_expire_chunk

        job_register(Job("expire_vouchers", vouchers_expire_chunk, VoucherExpiry(), period=DAILY))

        from members.memberships import plan_benefit_source_register

        from .plans import PlanVoucherResult, plan_vouchers_given, plan_vouchers_issue_chunk

        job_register(Job("issue_plan_vouchers", plan_vouchers_issue_chunk, PlanVoucherResult(), period=DAILY))
        plan_benefit_source_register(plan_vouchers_given)
        export_section_register("vouchers", vouchers_export)
