"""URL routes: admin, researcher API with its OpenAPI schema, participant pages."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from listening.research.admin.site import view_on_site

urlpatterns = [
    # Before the admin's own: a malformed object id answers 404, not 500.
    path("admin/r/<path:content_type_id>/<path:object_id>/", view_on_site),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("listening.research.api.urls")),
    path("studies/<int:pk>/results/", include("listening.research.results.urls")),
    path("workspace/", include("listening.research.workspace.urls")),
    path("", include("listening.participant.urls")),
]
