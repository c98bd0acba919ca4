from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from loyalty_site.staff.roles import PROGRAM_MANAGER, STORE_MANAGER, SUPPORT_AGENT
from tests import factories


def _staff(email: str, group: str):
    user = factories.UserFactory(email=email, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def manager(program):
    return _staff("manager@example.org", PROGRAM_MANAGER)


@pytest.fixture
def second_manager(program):
    return _staff("manager2@example.org", PROGRAM_MANAGER)


@pytest.fixture
def agent(program):
    return _staff("agent@example.org", SUPPORT_AGENT)


@pytest.fixture
def store_manager(program):
    return _staff("storemanager@example.org", STORE_MANAGER)
