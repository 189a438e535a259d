from django.apps import AppConfig


class ListeningConfig(AppConfig):
    name = "listening"
    verbose_name = "Listening tests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from listening import checks  # noqa: F401  (registers the system checks)
