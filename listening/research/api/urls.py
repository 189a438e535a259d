from rest_framework.routers import DefaultRouter

from listening.research.api import exports, views

router = DefaultRouter()
router.register("studies", views.StudyViewSet, basename="study")
router.register("tracks", views.TrackViewSet, basename="track")
router.register("stimuli", views.StimulusViewSet, basename="stimulus")

urlpatterns = [*exports.urlpatterns, *router.urls]
