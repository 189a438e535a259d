"""Delete stored responses to repeated participant requests once no retry can need them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from listening.models import IdempotencyKey, Session


class Command(BaseCommand):
    help = (
        "Delete idempotency records of sessions finished more than a day ago, and any record "
        "older than --days (default 30). A client retries within minutes; the records only "
        "need to outlive that, and a finished session refuses changes anyway."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["days"] < 1:
            raise CommandError("--days must be at least 1")
        cutoff = timezone.now() - timedelta(days=options["days"])
        finished = Session.objects.filter(completed_at__lt=timezone.now() - timedelta(days=1))
        stale = IdempotencyKey.objects.filter(Q(session__in=finished) | Q(created_at__lt=cutoff))
        count = stale.count()
        if not options["dry_run"]:
            stale.delete()
        verb = "Would delete" if options["dry_run"] else "Deleted"
        self.stdout.write(f"{verb} {count} idempotency record(s).")
