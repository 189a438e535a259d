from django.apps import AppConfig


class ListeningConfig(AppConfig):
    name = "listening"
    verbose_name = "Listening tests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # System checks, login receivers, and the receiver that fails half-done work.
        from listening import checks, task_recovery, throttling  # noqa: F401
