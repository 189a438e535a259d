"""The texts the participant pages' scripts show, translated for the page they are sent with.

The scripts (static/participant/*.js) write their texts in English and look each one up
with ``t('English text', {name: value})`` (static/participant/strings.js) in the JSON
that ``page_strings()`` builds and the template puts in the page with ``json_script``.
Every text the scripts use is listed here (a test compares the list with the scripts), so
``makemessages`` finds it and the .po files translate it; ``{name}`` placeholders are
filled in by the script.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

#: Every text of the participant scripts; the scale labels are MUSHRA's (BS.1534-3) five bands.
SCRIPT_STRINGS: tuple[str, ...] = (
    _("Listen"),
    _("Overall"),
    _("No preference"),
    _("Which do you prefer for {attribute}?"),
    _("Choose your preference for {attribute}."),
    _("Which one is X?"),
    _("X is {label}"),
    _("Answer saved: X is {label}"),
    _("Say whether X is A or X is B."),
    _("Training"),
    _("Listening test"),
    _("Space"),
    _("play / pause"),
    _("{letter} or {digit}"),
    _("listen to {name}"),
    _("listen to {first} … {last}"),
    _("R or 0"),
    _("listen to the reference"),
    _("loop on / off"),
    _("[ and ]"),
    _("set the loop start / end at the playhead"),
    _("move the focused rating slider (or the playhead, on the waveform)"),
    _("move the playhead (on the waveform) or the focused choice"),
    _("not rated yet"),
    _("Condition"),
    _("Reference"),
    _("Reference (not rated)"),
    _("Condition {label}, {attribute}"),
    _("Rate each condition from 0 (bad) to 100 (excellent) on {attributes}"),
    _(" and {count} more"),
    _("Rate every condition on every attribute ({names}{more})."),
    _("For {attribute}, rate at least one version 100: one of them is identical to the Reference."),
    _("the server answered {status}"),
    _("Playing…"),
    _("Played"),
    _("Could not play: reload the page"),
    _("Progress through the test"),
    _("Trial {position} of {total}"),
    _("Loading audio… {percent} %"),
    _("Loading audio"),
    _("Try again"),
    _("The audio could not be loaded. Check your connection and try again."),
    _("Play"),
    _("Loop"),
    _("Set loop start"),
    _("Set loop end"),
    _("Finish"),
    _("Next"),
    _("Playback"),
    _("Keyboard shortcuts"),
    _("Listen to every condition first (not played yet: {labels})."),
    _("Condition {label}"),
    _("{name}, played"),
    _("Pause"),
    _("Loop {start}–{end}"),
    _("Loop on, {start} to {end}"),
    _("Loop off"),
    _("Saving…"),
    _("The trial could not be submitted."),
    _("Audio ready"),
    _("Playback position and loop region"),
    _("loop from {start} to {end}"),
    _("loop off"),
    _("{position} of {duration}, {loop}"),
    _("Bad"),
    _("Poor"),
    _("Fair"),
    _("Good"),
    _("Excellent"),
    # save.js STATUS_TEXT
    _("All answers saved"),
    _("Connection problem: retrying. Your answers are kept in this browser."),
    _("You are offline. Your answers are kept and will be sent when the connection returns."),
    _("An answer could not be saved."),
)


#: The headphone check's script (static/participant/screening.js) needs only these.
SCREENING_STRINGS: tuple[str, ...] = ("Playing…", "Played", "Could not play: reload the page")
#: Texts about an open reference, sent only to studies that have one: a study without a
#: reference receives no mention of one (test_participant_blinding), not even unused.
MENTIONS_REFERENCE = re.compile("reference", re.IGNORECASE)


def page_strings(
    texts: tuple[str, ...] = SCRIPT_STRINGS, *, reference: bool = True
) -> dict[str, str]:
    """{English text: its translation in the active language} for the page's scripts.

    The same texts for every trial and condition of a study (nothing depends on what
    is played); ``reference=False`` leaves out the texts about an open reference.
    """
    return {
        text: gettext(text) for text in texts if reference or not MENTIONS_REFERENCE.search(text)
    }
