"""Fixtures of the workspace tests: researchers with and without rights."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from listening.research.researchers import grant_researcher


@pytest.fixture
def researcher(db: None) -> User:
    user = User.objects.create_user("ada", password="pw-ada-12345")
    grant_researcher(user)
    return User.objects.get(pk=user.pk)  # fresh: permissions are cached per instance


@pytest.fixture
def other_researcher(db: None) -> User:
    user = User.objects.create_user("grace", password="pw-grace-12345")
    grant_researcher(user)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def non_researcher(db: None) -> User:
    return User.objects.create_user("mallory", password="pw-mallory-12345")


@pytest.fixture
def signed_in(client: Any, researcher: User) -> Any:
    client.force_login(researcher)
    return client
