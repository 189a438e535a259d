"""Routes of the results pages, included under /studies/<pk>/results/ by config.urls."""

from django.urls import path

from listening.research.results import views

app_name = "results"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("bundle.zip", views.export_bundle, name="bundle"),
    path("report.html", views.report, name="report"),
    path("<slug:table>.csv", views.export_table, {"fmt": "csv"}, name="csv"),
    path("<slug:table>.jsonl", views.export_table, {"fmt": "jsonl"}, name="jsonl"),
]
