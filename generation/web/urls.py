from django.urls import path

from generation.web import staff, views

urlpatterns = [
    path("", views.generate, name="generate"),
    path("history/", views.history, name="history"),
    path("account/token/", views.api_token, name="api-token-page"),
    path("generations/<int:pk>/", views.detail, name="generation-detail"),
    path("generations/<int:pk>/video", views.video, name="generation-video"),
    path("generations/<int:pk>/poster.jpg", views.poster, name="generation-poster"),
    path("generations/<int:pk>/recording", views.recording, name="generation-recording"),
    path("generations/<int:pk>/captions.vtt", views.captions, {"fmt": "vtt"}, name="generation-captions-vtt"),
    path("generations/<int:pk>/captions.srt", views.captions, {"fmt": "srt"}, name="generation-captions-srt"),
    path("generations/<int:pk>/stream/index.m3u8", views.stream, name="generation-stream"),
    path("generations/<int:pk>/stream/<str:name>", views.stream, name="generation-stream-file"),
    path("generations/<int:pk>/delete/", views.delete, name="generation-delete"),
    path("generations/<int:pk>/cancel/", views.cancel, name="generation-cancel"),
    path("generations/<int:pk>/share/", views.share, name="generation-share"),
    path("staff/models/", staff.models, name="staff-models"),
]
