"""Export or erase everything stored about one participant (a GDPR access or erasure request).

manage.py participant_data TOKEN --export data.json          # the session, answers and events
manage.py participant_data --prolific-pid 5f1c... --export -  # every session of a Prolific id
manage.py participant_data TOKEN --delete                    # erase it all, for good
manage.py participant_data --delete -- -TOKEN                # a token that starts with "-"
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from listening.research.participant_data import (
    JSON_ENCODER,
    erase_participant,
    find_session,
    participant_record,
)


class Command(BaseCommand):
    help = "Export (--export PATH) or delete (--delete) all data of one participant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "token",
            nargs="?",
            help="The participant's session token (after -- if it starts with -, as some "
            "tokens made before 2026-11-28 do).",
        )
        parser.add_argument("--prolific-pid", help="Every session of this Prolific participant.")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--export", metavar="PATH", help="Write JSON to PATH (- for stdout).")
        action.add_argument("--delete", action="store_true", help="Erase the data completely.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            sessions = find_session(options["token"], options["prolific_pid"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        if not sessions:
            raise CommandError("no participant session matches")
        if options["delete"]:
            for session in sessions:
                counts = erase_participant(session)
                summary = ", ".join(f"{n} {label}" for label, n in counts.items() if n)
                self.stdout.write(f"Deleted session {session.token[:8]}…: {summary}")
            return
        text = json.dumps(
            {"sessions": [participant_record(s) for s in sessions]}, cls=JSON_ENCODER, indent=2
        )
        if options["export"] == "-":
            self.stdout.write(text)
        else:
            with open(options["export"], "w", encoding="utf-8") as target:
                target.write(text + "\n")
            self.stderr.write(f"Wrote {len(sessions)} session(s) to {options['export']}")
