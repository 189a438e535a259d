from django.urls import path

from listening import views

app_name = "listening"
urlpatterns = [
    path("", views.home, name="home"),
]
