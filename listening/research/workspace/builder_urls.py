"""Workspace routes of the builder area (included by listening.research.workspace.urls)."""

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, path

from listening.platform.authentication import ThrottledAuthenticationForm
from listening.research.workspace import builder_views

urlpatterns: list[URLPattern] = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=ThrottledAuthenticationForm,
            next_page="workspace:home",
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="listening:home"), name="logout"),
    path("", builder_views.home, name="home"),
    path("studies/new/", builder_views.new, name="new"),
    path("studies/<int:pk>/", builder_views.study, name="study"),
    path("studies/<int:pk>/settings/", builder_views.edit_settings, name="settings"),
    path("studies/<int:pk>/launch/", builder_views.launch, name="launch"),
    path("studies/<int:pk>/open/", builder_views.open_study, name="open"),
    path("studies/<int:pk>/close/", builder_views.close_study, name="close"),
]
