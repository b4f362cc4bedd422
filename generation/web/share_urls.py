from django.urls import path, register_converter

from generation.web import share_views


class TokenConverter:
    """What secrets.token_urlsafe makes; anything else never reaches a view."""

    regex = r"[A-Za-z0-9_-]{20,64}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(TokenConverter, "share_token")

urlpatterns = [
    path("<share_token:token>/", share_views.page, name="share-page"),
    path("<share_token:token>/video", share_views.video, name="share-video"),
    path("<share_token:token>/poster.jpg", share_views.poster, name="share-poster"),
    path("<share_token:token>/captions.vtt", share_views.captions, {"fmt": "vtt"}, name="share-captions-vtt"),
    path("<share_token:token>/captions.srt", share_views.captions, {"fmt": "srt"}, name="share-captions-srt"),
]
