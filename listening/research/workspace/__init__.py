"""The researcher's workspace: sign in, build, upload, preview, launch and watch a study.

Server-rendered pages under ``/workspace/`` for accounts with researcher rights
(:mod:`listening.research.researchers`), one sign-in for everything. Each area has its own
routes module, gathered by :mod:`listening.research.workspace.urls`; the tabs of a study's
pages come from :mod:`listening.research.workspace.navigation`. The admin, the API and the
management commands stay for power users and scripts.
"""
