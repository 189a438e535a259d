"""Give or take researcher rights (the Researchers group), or list who has them.

manage.py researchers list
manage.py researchers add alice bob
manage.py researchers remove bob
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from listening.models.rights import is_researcher
from listening.research.researchers import (
    GROUP,
    grant_researcher,
    researcher_users,
    revoke_researcher,
)


class Command(BaseCommand):
    help = f"List, add or remove researchers (members of the {GROUP!r} group)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "add", "remove"])
        parser.add_argument("usernames", nargs="*")

    def handle(self, *args: Any, **options: Any) -> None:
        action, names = options["action"], options["usernames"]
        if action == "list":
            for user in researcher_users().order_by("username"):
                note = " (superuser)" if user.is_superuser else ""
                self.stdout.write(f"{user.get_username()}{note}")
            return
        if not names:
            raise CommandError(f"give the username(s) to {action}")
        users = get_user_model().objects
        found = {u.get_username(): u for u in users.filter(username__in=names)}
        missing = [n for n in names if n not in found]
        if missing:
            raise CommandError(f"no such user: {', '.join(missing)}")
        for name in names:
            user = found[name]
            if action == "add":
                grant_researcher(user)
            else:
                revoke_researcher(user)
                if is_researcher(users.get(pk=user.pk)):
                    self.stderr.write(
                        f"{name} keeps researcher rights (superuser or a direct permission)"
                    )
            self.stdout.write(
                f"{name}: {'added to' if action == 'add' else 'removed from'} {GROUP}"
            )
