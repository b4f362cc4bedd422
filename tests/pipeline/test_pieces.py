"""A streamed request's speech in pieces (pieces.py): cuts in pauses, whole frame counts, a head that does not jump."""
import numpy as np
import pytest

from generation.pipeline import audio as audio_stage, pieces
from generation.pipeline.captions import speech_segments
from generation.pipeline.tts.espeak import EspeakBackend
from generation.pipeline.tts.text import synthesize_text
from generation.pipeline.types import FPS, SAMPLE_RATE, frame_count

SENTENCE = "Hello there! My name is Avatar. I can speak three languages, and my lips move with every word. "


@pytest.fixture(scope="module")
def speech():
    backend = EspeakBackend()
    return audio_stage.prepare(synthesize_text(backend, SENTENCE * 4, "en", backend.default_voice("en").id))


def test_cuts_lie_in_pauses_on_frame_boundaries_and_grow(speech):
    cuts = pieces.cuts(speech, FPS)
    assert len(cuts) >= 2
    per_frame = SAMPLE_RATE // FPS
    assert all(cut % per_frame == 0 for cut in cuts)
    pauses = list(zip([end for _, end in speech_segments(speech.samples)],
                      [start for start, _ in speech_segments(speech.samples)][1:]))
    for cut in cuts:
        assert any(end <= cut / SAMPLE_RATE <= start for end, start in pauses), cut
    assert pieces.FIRST_PIECE_MIN_SECONDS <= cuts[0] / SAMPLE_RATE <= pieces.FIRST_PIECE_MIN_SECONDS + pieces.SEARCH_SECONDS
    assert cuts[1] >= pieces.PIECE_GROWTH * cuts[0] - per_frame


def test_pieces_cover_the_speech_and_its_frames_exactly(speech):
    parts = pieces.split(speech, FPS)
    assert np.array_equal(np.concatenate([p.samples for p in parts]), speech.samples)
    assert sum(frame_count(len(p.samples), FPS) for p in parts) == frame_count(len(speech.samples), FPS)
    # phonemes move to each piece's own clock and stay inside it
    assert all(0 <= ph.start < ph.end <= p.duration + 1e-9 for p in parts for ph in (p.phonemes or []))
    assert sum(len(p.phonemes or []) for p in parts) >= len(speech.phonemes or []) * 0.95


def test_no_pause_no_cut():
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    tone = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    assert pieces.split(audio_stage.Audio(tone), FPS)[0].samples is not None
    assert len(pieces.split(audio_stage.Audio(tone), FPS)) == 1


def test_the_head_eases_from_the_first_pieces_plan_onto_the_whole_one(speech):
    from generation.pipeline.images import demo_avatar_image
    from generation.pipeline.faces import FaceAnalyzer
    from generation.pipeline.motion import plan_motion

    face = FaceAnalyzer().analyze(demo_avatar_image())
    parts = pieces.split(speech, FPS)
    first = plan_motion(parts[0], face, "lively", seed=1)
    whole = plan_motion(speech, face, "lively", seed=1)
    n = len(first)
    # where the first piece's own plan happens to end near the whole one there is nothing to ease: set its
    # last pose well off the whole plan's (ten typical steps), so a cut without the ease must jump
    typical = np.median(np.abs(np.diff(whole.roll))) + np.median(np.abs(np.diff(whole.shift, axis=0)).sum(axis=1))
    first.roll = first.roll.astype(np.float64) + (whole.roll[n] - first.roll[-1]) + 10 * typical
    first.shift = first.shift.astype(np.float64) + (whole.shift[n] - first.shift[-1])
    eased = pieces.slice_plan(whole, n, n + 50, after=first)
    plain = pieces.slice_plan(whole, n, n + 50)
    step_eased = abs(eased.roll[0] - first.roll[-1]) + np.abs(eased.shift[0] - first.shift[-1]).sum()
    step_plain = abs(plain.roll[0] - first.roll[-1]) + np.abs(plain.shift[0] - first.shift[-1]).sum()
    assert step_eased <= 3 * typical + 1e-6 < step_plain  # without the ease the head would jump
    assert np.allclose(eased.roll[pieces.EASE_FRAMES:], plain.roll[pieces.EASE_FRAMES:])
    assert len(eased) == 50 and np.all((eased.beats >= 0) & (eased.beats < 50))
