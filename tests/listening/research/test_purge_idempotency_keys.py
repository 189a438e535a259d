"""manage.py purge_idempotency_keys: old records go, records a retry may still need stay."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from listening.models import IdempotencyKey, Session
from tests.listening.base import BaseTestCase


class PurgeIdempotencyKeysTestCase(BaseTestCase):
    def record(self, session: Session, key: str, age_days: float) -> IdempotencyKey:
        record = IdempotencyKey.objects.create(
            session=session, key=key, endpoint="answers", status_code=200, response={"ok": True}
        )
        created = timezone.now() - timedelta(days=age_days)
        IdempotencyKey.objects.filter(pk=record.pk).update(created_at=created)
        return record

    def test_it_keeps_what_a_retry_may_need(self) -> None:
        now = timezone.now()
        running = Session.objects.create(study=self.study)
        just_done = Session.objects.create(study=self.study, completed_at=now)
        done_long_ago = Session.objects.create(
            study=self.study, completed_at=now - timedelta(days=3)
        )
        keep = [
            self.record(running, "running-new", 0),
            self.record(just_done, "just-done", 0),  # its last submit may still be retried
        ]
        self.record(running, "running-old", 45)
        self.record(done_long_ago, "finished", 2)

        out = io.StringIO()
        call_command("purge_idempotency_keys", "--dry-run", stdout=out)
        assert "Would delete 2 idempotency record(s)." in out.getvalue()
        assert IdempotencyKey.objects.count() == 4

        call_command("purge_idempotency_keys", stdout=out)
        assert set(IdempotencyKey.objects.values_list("pk", flat=True)) == {k.pk for k in keep}
        assert Session.objects.count() == 3  # sessions themselves are untouched

    def test_it_refuses_a_nonsense_age(self) -> None:
        with pytest.raises(CommandError, match="at least 1"):
            call_command("purge_idempotency_keys", "--days", "0")
