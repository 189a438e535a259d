"""Routes of the results pages, included under /studies/<pk>/results/ by config.urls."""

from django.urls import path

from listening import results_views

app_name = "results"
urlpatterns = [
    path("", results_views.dashboard, name="dashboard"),
    path("bundle.zip", results_views.export_bundle, name="bundle"),
    path("report.html", results_views.report, name="report"),
    path("<slug:table>.csv", results_views.export_table, {"fmt": "csv"}, name="csv"),
    path("<slug:table>.jsonl", results_views.export_table, {"fmt": "jsonl"}, name="jsonl"),
]
