from django.apps import AppConfig


class ListeningConfig(AppConfig):
    name = "listening"
    verbose_name = "Listening tests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from listening import checks, throttling  # noqa: F401  (system checks, login receivers)
