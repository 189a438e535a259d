"""Researcher API views: thin, with every rule in serializers, models and permissions."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from listening.models import Stimulus, Study, Track
from listening.research.api.permissions import (
    IsOwnerToDelete,
    IsResearcher,
    get_study_for_user,
    object_id,
    stimuli_for_user,
    tracks_for_user,
)
from listening.research.api.serializers import StudySerializer, TrackSerializer
from listening.research.api.stimulus_serializers import (
    PrepareSerializer,
    ProgressSerializer,
    QueuedSerializer,
    StimulusSerializer,
    StimulusUploadSerializer,
)
from listening.research.opening import open_study, problems_before_opening
from listening.stimuli.tasks import enqueue_preparation, enqueue_track
from listening.stimuli.uploads import upload_refused


class StudyViewSet(viewsets.ModelViewSet[Study]):
    """Studies the user owns or collaborates on."""

    serializer_class = StudySerializer
    permission_classes = (IsResearcher, IsOwnerToDelete)

    def get_queryset(self) -> QuerySet[Study]:
        return Study.objects.for_user(self.request.user).select_related("owner")

    def get_object(self) -> Study:
        study = get_study_for_user(self.request, self.kwargs["pk"])
        self.check_object_permissions(self.request, study)
        return study

    def perform_create(self, serializer: BaseSerializer[Study]) -> None:
        serializer.save(owner=self.request.user)

    def perform_destroy(self, instance: Study) -> None:
        # Participants may be mid-session: an open study is closed first, deliberately.
        if instance.status == Study.Status.OPEN:
            raise ValidationError({"status": ["close the study before deleting it"]})
        instance.delete()  # with its sessions; the stimuli's files go on commit

    def perform_update(self, serializer: BaseSerializer[Study]) -> None:
        with transaction.atomic():
            study = serializer.save()
            # Changed excerpt, target, rate or fades make prepared files stale: redo them.
            enqueue_preparation(study)

    @extend_schema(request=None, responses=StudySerializer)
    @action(detail=True, methods=["post"])
    def open(self, request: Request, pk: Any = None, format: str | None = None) -> Response:
        """Open the study to participants once every check passes (else 400 with the reasons)."""
        study = self.get_object()
        problems = problems_before_opening(study)
        if problems:
            raise ValidationError({"study": problems})
        open_study(study)
        return Response(self.get_serializer(study).data)

    @extend_schema(request=None, responses=StudySerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: Any = None, format: str | None = None) -> Response:
        """Close the study: no new participants; its data stays."""
        study = self.get_object()
        if study.status != Study.Status.OPEN:
            raise ValidationError({"study": [f"the study is {study.status}, not open"]})
        study.close()
        return Response(self.get_serializer(study).data)

    @extend_schema(request=PrepareSerializer, responses={202: QueuedSerializer})
    @action(detail=True, methods=["post"])
    def prepare(self, request: Request, pk: Any = None, format: str | None = None) -> Response:
        """Queue preparation of every track whose files are missing or outdated."""
        study = self.get_object()
        options = PrepareSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        if not study.is_draft:
            raise ValidationError({"study": [f"the study is {study.status}; its files are locked"]})
        queued = enqueue_preparation(study, force=options.validated_data["force"])
        return Response({"queued_tracks": queued}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=ProgressSerializer)
    @action(detail=True, methods=["get"])
    def progress(self, request: Request, pk: Any = None, format: str | None = None) -> Response:
        """Preparation progress of the study and of each of its stimuli."""
        study = self.get_object()
        return Response({**study.progress(), "stimuli": study.stimulus_progress()})


@extend_schema(
    parameters=[OpenApiParameter("study", int, description="Only the tracks of this study.")]
)
class TrackViewSet(viewsets.ModelViewSet[Track]):
    serializer_class = TrackSerializer

    def get_queryset(self) -> QuerySet[Track]:
        tracks = tracks_for_user(self.request).prefetch_related("stimuli")
        study = self.request.query_params.get("study")
        if study is not None:
            tracks = tracks.filter(study=get_study_for_user(self.request, study))
        return tracks

    def perform_update(self, serializer: BaseSerializer[Track]) -> None:
        with transaction.atomic():
            track = serializer.save()
            enqueue_preparation(track.study)

    def perform_destroy(self, instance: Track) -> None:
        if not instance.study.is_draft:
            raise ValidationError({"study": [f"the study is {instance.study.status}"]})
        instance.delete()  # the stimuli's files go on commit (listening.models.stimulus)


@extend_schema(
    parameters=[
        OpenApiParameter("track", int, description="Only the stimuli of this track."),
        OpenApiParameter("study", int, description="Only the stimuli of this study."),
    ]
)
class StimulusViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet[Stimulus],
):
    """Mixes and masters (uploaded as multipart) and the anchors derived from them."""

    parser_classes = (MultiPartParser, FormParser, JSONParser)

    def get_serializer_class(self) -> type[BaseSerializer[Stimulus]]:
        if self.action == "create":
            return StimulusUploadSerializer
        return StimulusSerializer

    def get_queryset(self) -> QuerySet[Stimulus]:
        stimuli = stimuli_for_user(self.request).select_related("track__study")
        params = self.request.query_params
        if "study" in params:
            stimuli = stimuli.filter(track__study=get_study_for_user(self.request, params["study"]))
        if "track" in params:
            stimuli = stimuli.filter(track_id=object_id(params["track"]))
        return stimuli

    @extend_schema(request={"multipart/form-data": StimulusUploadSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        request.data  # noqa: B018  (parse now: the upload handler may have cut the body off)
        refused = upload_refused(request)
        if refused is not None:
            raise ValidationError({"file": [refused]})
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer[Stimulus]) -> None:
        stimulus = serializer.save()
        enqueue_track(stimulus.track)

    def perform_destroy(self, instance: Stimulus) -> None:
        track = instance.track
        if not track.study.is_draft:
            raise ValidationError({"study": [f"the study is {track.study.status}"]})
        if instance.role == Stimulus.Role.ANCHOR:
            raise ValidationError({"role": ["anchors are derived; turn them off in the study"]})
        instance.delete()
        enqueue_track(track)
