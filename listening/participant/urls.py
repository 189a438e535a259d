from django.urls import path

from listening.participant import answers, audio, pages
from listening.platform.home import home

app_name = "listening"
urlpatterns = [
    path("", home, name="home"),
    path("a/<str:key>", audio.serve_condition, name="audio"),
    # Participants: the study's public link, then everything under their session token.
    path("s/<str:public_token>/", pages.landing, name="landing"),
    path("p/<str:token>/", pages.resume, name="resume"),
    path("p/<str:token>/consent", pages.consent, name="consent"),
    path("p/<str:token>/questionnaire", pages.questionnaire, name="questionnaire"),
    path("p/<str:token>/calibration", pages.calibration, name="calibration"),
    path("p/<str:token>/screening", pages.headphone_check, name="screening"),
    path("p/<str:token>/training", pages.training, name="training"),
    path("p/<str:token>/trial", pages.trial, name="trial"),
    path("p/<str:token>/current", pages.current, name="current"),
    path("p/<str:token>/final", pages.final, name="final"),
    path("p/<str:token>/done", pages.done, name="done"),
    path("p/<str:token>/answers", answers.save_answer, name="answers"),
    path("p/<str:token>/events", answers.record_events, name="events"),
]
