"""Facts defined once: the stages, the video limits, the messages' limits, the default voice, the webhook lease."""
from datetime import timedelta

import pytest
from django.test import Client

from generation import webhooks
from generation.shared import errors, voices
from generation.web.api.serializers import AvatarCreateSerializer
from generation.models import TIMING_LABELS, TIMING_ORDER, Stage
from generation.pipeline import limits, runner, types
from generation.pipeline import types as pipeline


def test_the_stages_are_listed_once():
    assert types.STAGES == ("tts", "audio", "face", "lipsync", "encode")
    assert tuple(runner.STAGE_END_PERCENT) == types.STAGES
    assert TIMING_ORDER == ("queue", *types.STAGES, "total") and set(TIMING_LABELS) == set(TIMING_ORDER)
    assert tuple(Stage.values) == ("queued", *types.STAGES, "done", "failed")


def test_what_users_read_names_the_video_limits_that_apply(settings, client: Client, user):
    help_text = str(AvatarCreateSerializer().fields["file"].help_text)
    assert f"{settings.MAX_VIDEO_SECONDS} s and {settings.MAX_VIDEO_SIDE} px" in help_text
    assert ", ".join(limits.VIDEO_FORMAT_NAMES) in help_text
    settings.MAX_VIDEO_SECONDS, settings.MAX_VIDEO_SIDE = 30, 1280
    client.force_login(user)
    page = client.get("/avatars/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "of up to 30 s and 1280 pixels" in page and f"up to {limits.MAX_SOURCE_FPS} frames per second" in page
    assert "60 s and 1920" not in page


def test_user_message_fills_the_limits_its_definition_names(settings):
    settings.MAX_AUDIO_SECONDS, settings.MAX_SPEECH_SECONDS = 77, 88
    assert "77" in errors.user_message(pipeline.AUDIO_TOO_LONG)
    assert "88" in errors.user_message(pipeline.SPEECH_TOO_LONG)
    assert set(errors.MESSAGE_LIMITS) <= set(errors.MESSAGES)
    for code, message in errors.MESSAGES.items():  # every other message has no placeholder to fill
        assert ("%(" in str(message)) == (code in errors.MESSAGE_LIMITS), code


@pytest.mark.django_db
def test_the_default_voice_is_the_backends():
    for language in pipeline.LANGUAGES:
        ids = voices.voice_ids(language)
        assert voices.default_voice_id(language) == (ids[0] if ids else "")


def test_the_webhook_lease_outlasts_an_attempt(settings):
    settings.WEBHOOK_TIMEOUT = 7
    assert webhooks.attempt_seconds() == 2 * 7 + webhooks.CONNECT_TIMEOUT_SECONDS
    assert webhooks.lease() == timedelta(seconds=webhooks.attempt_seconds() + webhooks.LEASE_GRACE_SECONDS)


def test_the_engines_are_named_once():
    from generation.models import ENGINE_LABELS

    assert tuple(ENGINE_LABELS) == types.ENGINES and types.VISEME in types.ENGINES
    with pytest.raises(pipeline.PipelineError, match="auto, viseme or wav2lip, not «x»"):
        runner.build_engines(runner.PipelineConfig(lipsync_engine="x"))
