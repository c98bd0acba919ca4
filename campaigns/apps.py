from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed

        from members.config import config_changed, watch
        from members.jobs import Job, job_register
        from members.schedule import DAILY, HOURLY

        from . import receivers  # noqa: F401
        from .models import Campaign, Offer
        from .services.actions import BirthdayResult, birthday_bonuses_chunk
        from .services.settlement import SettlementReport, campaigns_settle_chunk, campaigns_settle_finish

        watch(Campaign, Offer)
        for through in (Campaign.tiers.through, Campaign.stores.through):
            uid = f"campaigns.config.{through.__name__}"
            m2m_changed.connect(config_changed, sender=through, dispatch_uid=uid, weak=False)

        job_register(
            Job(
                "settle_campaigns",
                campaigns_settle_chunk,
                SettlementReport(),
                period=HOURLY,
                finish=campaigns_settle_finish,
            )
        )
        job_register(Job("birthday_bonuses", birthday_bonuses_chunk, BirthdayResult(), period=DAILY))

        from .segments import SegmentResult, segments_refresh_chunk, segments_refresh_finish

        job_register(
            Job(
                "refresh_segments",
                segments_refresh_chunk,
                SegmentResult(),
                period=DAILY,
                finish=segments_refresh_finish,
            )
        )

        from members.memberships import plan_benefit_source_register

        from .selectors import plan_points_given

        plan_benefit_source_register(plan_points_given)

        from rewards.pricing import price_source_register

        from .offers import OfferRewardPrices

        price_source_register(OfferRewardPrices())

        from members.privacy import export_section_register

        from .privacy import activities_export

        export_section_register("activities", activities_export)

        from .engagement import tasks as engagement_tasks  # noqa: F401  (registers the tasks)
        from .engagement.config import connect_signals
        from .engagement.jobs import RecomputeResult, challenges_recompute_chunk

        connect_signals()
        job_register(Job("recompute_challenges", challenges_recompute_chunk, RecomputeResult(), period=DAILY))
