from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from generation.web.api import root, share, views

generation_list = views.GenerationViewSet.as_view({"get": "list", "post": "create"})
generation_detail = views.GenerationViewSet.as_view({"get": "retrieve", "delete": "destroy"})
generation_cancel = views.GenerationViewSet.as_view({"post": "cancel"})
generation_video = views.GenerationViewSet.as_view({"get": "video"})
generation_recording = views.GenerationViewSet.as_view({"get": "recording"})
captions_vtt = views.GenerationViewSet.as_view({"get": "captions_vtt"}, content_negotiation_class=views.AnyAcceptNegotiation)
stream_playlist = views.GenerationViewSet.as_view({"get": "stream"}, content_negotiation_class=views.AnyAcceptNegotiation)
stream_file = views.GenerationViewSet.as_view({"get": "stream_file"}, content_negotiation_class=views.AnyAcceptNegotiation)
captions_srt = views.GenerationViewSet.as_view({"get": "captions_srt"}, content_negotiation_class=views.AnyAcceptNegotiation)

urlpatterns = [
    path("v1/", root.api_root, name="api-root"),
    path("v1/auth/token/", views.obtain_token, name="api-token"),
    path("v1/avatars/", views.AvatarViewSet.as_view({"get": "list", "post": "create"}), name="api-avatars"),
    path("v1/avatars/<int:pk>/", views.AvatarViewSet.as_view({"get": "retrieve", "patch": "partial_update",
                                                                            "delete": "destroy"}),
         name="api-avatar-detail"),
    path("v1/avatars/<int:pk>/preview", views.AvatarViewSet.as_view({"get": "preview"}), name="api-avatar-preview"),
    path("v1/avatars/<int:pk>/source", views.AvatarViewSet.as_view({"get": "source"}), name="api-avatar-source"),
    path("v1/backgrounds/", views.BackgroundViewSet.as_view({"get": "list", "post": "create"}), name="api-backgrounds"),
    path("v1/backgrounds/<int:pk>/", views.BackgroundViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
         name="api-background-detail"),
    path("v1/backgrounds/<int:pk>/file", views.BackgroundViewSet.as_view({"get": "file"}), name="api-background-file"),
    path("v1/me/", views.me, name="api-me"),
    path("v1/me/webhook-secret/", views.rotate_webhook_secret, name="api-me-webhook-secret"),
    path("v1/voices/", views.VoiceList.as_view(), name="api-voices"),
    path("v1/voices/<str:voice_id>/sample", views.VoiceSample.as_view(), name="api-voice-sample"),
    path("v1/generations/", generation_list, name="api-generation-list"),
    path("v1/generations/<int:pk>/", generation_detail, name="api-generation-detail"),
    path("v1/generations/<int:pk>/cancel/", generation_cancel, name="api-generation-cancel"),
    path("v1/generations/<int:pk>/share/", share.share, name="api-generation-share"),
    path("v1/generations/<int:pk>/video", generation_video, name="api-generation-video"),
    path("v1/generations/<int:pk>/recording", generation_recording, name="api-generation-recording"),
    path("v1/generations/<int:pk>/captions.vtt", captions_vtt, name="api-generation-captions-vtt"),
    path("v1/generations/<int:pk>/captions.srt", captions_srt, name="api-generation-captions-srt"),
    path("v1/generations/<int:pk>/stream/index.m3u8", stream_playlist, name="api-generation-stream"),
    path("v1/generations/<int:pk>/stream/<str:name>", stream_file, name="api-generation-stream-file"),
    path("v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # the split view serves its start-up script from a URL of its own: no inline script for the CSP to refuse
    path("v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("generate", views.generate_sync, name="api-generate"),
    re_path(r"^(?P<rest>.*)$", root.api_not_found),  # last: JSON, never Django's HTML 404 page
]
