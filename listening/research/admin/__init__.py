"""The researcher's admin: studies with their tracks, stimuli with preparation state and metrics.

The admin needs staff status (Django's door to it) and researcher rights
(:func:`listening.models.rights.is_researcher`, the same rule as the API and the results
pages). Researchers who are not superusers see only the studies they own or collaborate
on, and the tracks, stimuli and sessions of those studies; everything else is 404
(:mod:`.scoping`).

Importing this package registers the model admins (``ListeningConfig.ready`` does) and sets
the site's throttled login form (:mod:`.site`). One module per idea: :mod:`.studies`,
:mod:`.tracks`, :mod:`.stimuli` (with :mod:`.metrics`, how a master's metrics read, and
:mod:`.audio`, listening to its files), :mod:`.sessions`.
"""

from listening.research.admin import sessions, site, stimuli, studies, tracks  # noqa: F401
