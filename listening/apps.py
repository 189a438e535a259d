from django.apps import AppConfig


class ListeningConfig(AppConfig):
    name = "listening"
    verbose_name = "Listening tests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # System checks, login receivers, and the receiver that fails half-done work.
        from listening.platform import checks, task_recovery, throttling  # noqa: F401

        # The admin lives in listening.research.admin, which autodiscovery does not look in.
        from listening.research import admin  # noqa: F401
