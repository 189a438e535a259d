from django.urls import path

from listening import audio_serving, views
from listening.views import answers, participant

app_name = "listening"
urlpatterns = [
    path("", views.home, name="home"),
    path("a/<str:key>", audio_serving.serve_condition, name="audio"),
    # Participants: the study's public link, then everything under their session token.
    path("s/<str:public_token>/", participant.landing, name="landing"),
    path("p/<str:token>/", participant.resume, name="resume"),
    path("p/<str:token>/consent", participant.consent, name="consent"),
    path("p/<str:token>/questionnaire", participant.questionnaire, name="questionnaire"),
    path("p/<str:token>/calibration", participant.calibration, name="calibration"),
    path("p/<str:token>/screening", participant.headphone_check, name="screening"),
    path("p/<str:token>/training", participant.training, name="training"),
    path("p/<str:token>/trial", participant.trial, name="trial"),
    path("p/<str:token>/current", participant.current, name="current"),
    path("p/<str:token>/final", participant.final, name="final"),
    path("p/<str:token>/done", participant.done, name="done"),
    path("p/<str:token>/answers", answers.save_answer, name="answers"),
    path("p/<str:token>/events", answers.record_events, name="events"),
]
