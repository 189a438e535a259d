from django.urls import path

from listening import audio_serving, views

app_name = "listening"
urlpatterns = [
    path("", views.home, name="home"),
    path("a/<str:key>", audio_serving.serve_condition, name="audio"),
]
