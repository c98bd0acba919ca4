from __future__ import annotations

from datetime import UTC, datetime

import factory
from factory.django import DjangoModelFactory

from members.models import Member, Store, Tier, User


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("a-long-test-password")


class StoreFactory(DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Store {n}")
    code = factory.Sequence(lambda n: f"store-{n}")


class MemberFactory(DjangoModelFactory):
    class Meta:
        model = Member

    email = factory.Sequence(lambda n: f"member{n}@example.org")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    tier = factory.LazyFunction(lambda: Tier.objects.order_by("rank").first())
    birth_date = None
    # A birth date given is taken as on file since long ago (a birthday pays 30 days after).
    birth_date_set_at = factory.LazyAttribute(
        lambda member: datetime(2000, 1, 1, tzinfo=UTC) if member.birth_date else None
    )
