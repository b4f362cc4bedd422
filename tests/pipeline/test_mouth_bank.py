"""The mouth bank: a video avatar's own mouths indexed at preparation, chosen and pasted at render.

Real clips (tests/mouth_clips.py: a real face talking while it moves, the same face with its mouth
closed), real ffmpeg, real dlib, espeak speech with a pause. The one-mouth rule is measured on the
output frames by counting dark mouth regions in the lower face.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from generation.pipeline.clip import ClipReader, inspect_video, prepare_clip
from generation.pipeline.faces import FaceAnalyzer
from generation.pipeline.lipsync import viseme_bank
from generation.pipeline.lipsync.viseme import VisemeEngine
from generation.pipeline.mouth_bank import CLOSED_AT, OPEN_SHOWN, coverage
from generation.pipeline.types import FPS
from tests import mouth_clips
from tests.pipeline.test_clip_render import (CLOSED_GAP, OPEN_GAP, dark_share, dlib_gap, pause_frames,
                                             speech_frames, speech_pause_speech)


@pytest.fixture(scope="module")
def analyzer():
    return FaceAnalyzer()


def prepared(made, analyzer, folder):
    result = prepare_clip(made.data, inspect_video(made.data).demuxer, folder, analyzer)
    return result, (result.data_path, result.frames_path)


@pytest.fixture(scope="module")
def talking(analyzer, tmp_path_factory):
    """The real face talking (its own mouth opens and closes) while it moves, 480x270."""
    return prepared(mouth_clips.talking("en", size=(480, 270)), analyzer, tmp_path_factory.mktemp("talking"))


@pytest.fixture(scope="module")
def closed(analyzer, tmp_path_factory):
    """The same face with its mouth closed throughout."""
    return prepared(mouth_clips.closed(2.4, size=(480, 270)), analyzer, tmp_path_factory.mktemp("closed"))


@pytest.fixture(scope="module")
def speech():
    return speech_pause_speech()


@pytest.fixture(scope="module")
def rendered(talking, speech):
    reader = ClipReader(*talking[1])
    engine = VisemeEngine()
    frames = list(engine.render(engine.prepare_clip(reader), speech[0], FPS))
    track = engine.track(speech[0], FPS)
    wanted = viseme_bank.spoken_open(track.open, speech[0], FPS)
    return reader, frames, viseme_bank.plan(reader.bank, wanted, track.spread, track.round)


def test_the_bank_indexes_every_frame_and_covers_speech(talking):
    result, paths = talking
    reader = ClipReader(*paths)
    bank = reader.bank
    assert len(bank) == reader.frame_count
    assert bank.crop(0).shape == (bank.size[1], bank.size[0], 3) and bank.crop(len(bank) - 1).dtype == np.uint8
    # the clip's own mouths, open and closed, as dlib saw them
    assert np.allclose(bank.opening, reader.mouth_open)
    assert (bank.opening >= OPEN_SHOWN).sum() >= 10 and (bank.opening <= CLOSED_AT).sum() >= 5  # 9-20 seen
    # the canonical frame follows the head: a closed mouth's lips land at the same crop place all along
    closed = np.flatnonzero(bank.opening <= CLOSED_AT)
    corners = bank.lips[closed][:, [0, 6]]
    assert np.abs(corners - np.median(corners, axis=0)).max() < 0.08 * bank.size[0]
    # wide-open mouths show more teeth than closed ones
    wide = np.flatnonzero(bank.opening >= np.percentile(bank.opening, 80))
    assert bank.teeth[wide].mean() > bank.teeth[closed].mean()
    assert bank.coverage.usable and bank.coverage.code == "bank_good"
    notes = [n for n in result.notes if n.code.startswith("bank_")]
    assert len(notes) == 1 and notes[0].code == "bank_good" and 0.25 <= notes[0].share <= 1.0


def test_coverage_codes():
    n = 100
    assert coverage(np.zeros(n)).code == "bank_still"
    assert coverage(np.full(n, 0.3)).code == "bank_open"  # never closes: no real closed mouth for m/b/p
    some = np.zeros(n)
    some[:10] = 0.3
    assert (coverage(some).code, coverage(some).usable, coverage(some).share) == ("bank_some", True, 0.1)
    some[:50] = 0.3
    assert coverage(some).code == "bank_good"


def test_the_path_follows_the_wanted_shape_and_the_clip(rendered, speech):
    reader, _, plan = rendered
    bank = reader.bank
    chosen = bank.opening[plan.index]
    pause = list(pause_frames(speech))
    assert chosen[pause].max() <= CLOSED_AT  # a real closed mouth in the pause
    spoken = speech_frames(speech)
    assert chosen[spoken].max() >= OPEN_SHOWN and np.mean(chosen[spoken] >= OPEN_SHOWN) > 0.2
    steps = np.diff(plan.index)
    assert np.mean((steps == 1) | (steps == 0)) > 0.5  # mostly runs of the clip's own motion, not a new mouth a frame
    assert plan.use.all()


def test_one_mouth_at_all_times(rendered, speech, analyzer):
    reader, frames, plan = rendered
    shown = [int(k) for k in reader.order(len(frames))]  # where the forward loop takes the clip
    pause = list(pause_frames(speech))
    # the test means something: the clip's own mouth is open on some frames shown in the pause
    assert max(reader.mouth_open[shown[i]] for i in pause) > OPEN_GAP
    for i in range(0, len(frames), 2):
        lm = reader.landmarks[shown[i]]
        assert mouth_clips.dark_blobs(frames[i], lm) <= 1, i
    for i in pause[::3]:
        assert dlib_gap(analyzer, frames[i]) < CLOSED_GAP, i
        assert dark_share(frames[i], reader.landmarks[shown[i]]) < 0.05, i
    spoken = speech_frames(speech)
    assert max(dlib_gap(analyzer, frames[i]) for i in spoken[::3]) > OPEN_GAP
    for i in range(0, len(frames), 4):  # nothing above the nose changed
        rows = slice(0, int(reader.landmarks[shown[i]][30, 1]) - 4)
        assert np.abs(frames[i][rows].astype(int) - reader.frame(shown[i])[rows]).max() <= 1, i


def test_a_rounded_mouth_leaves_the_clips_own_lips_unsqueezed(rendered):
    """An o/u used to warp the clip's own lips and cheeks narrower beside the pasted mouth (a pink
    smear round it): the round weight now only chooses the bank mouth, so outside it the frame is
    the one the jaw and spread warp makes, and the clip's own lips lie under the mask."""
    reader, _, plan = rendered
    engine = VisemeEngine()
    state = engine.prepare_clip(reader)
    rounded = np.array([0.3, 0.0, 1.0, 0.0, 0.0])
    for i in range(0, len(plan.index), 15):
        k = int(reader.order(len(plan.index))[i])
        plain = engine.draw_clip_banked(state, k, np.zeros(5), plan, i, reader.frame(k))
        round_ = engine.draw_clip_banked(state, k, rounded, plan, i, reader.frame(k))
        assert np.array_equal(plain, round_), i
        # the clip's own lips painted green before the paste: none of it may show round the bank's mouth
        marked = reader.frame(k)
        cv2.fillPoly(marked, [np.round(reader.landmarks[k][48:60]).astype(np.int32)], (0, 255, 0))
        out = engine.draw_clip_banked(state, k, rounded, plan, i, marked).astype(int)
        green = out[..., 1] - np.maximum(out[..., 0], out[..., 2])
        assert (green > 60).sum() == 0, i


def test_a_clip_that_never_opens_its_mouth_falls_back_to_the_drawn_mouth(closed, speech):
    result, paths = closed
    reader = ClipReader(*paths)
    assert reader.bank.coverage.code == "bank_still" and not reader.bank.coverage.usable
    assert [n.code for n in result.notes if n.code.startswith("bank_")] == ["bank_still"]
    engine = VisemeEngine()
    audio = speech[0]
    frames = list(engine.render(engine.prepare_clip(reader), audio, FPS))
    reader.bank = None  # as a clip prepared before banks reads
    drawn = list(engine.render(engine.prepare_clip(reader), audio, FPS))
    assert all(np.array_equal(a, b) for a, b in zip(frames, drawn))


def test_a_clip_prepared_before_banks_still_reads_and_speaks(closed, tmp_path, speech):
    _, (data, frames_path) = closed
    with np.load(data) as npz:
        old = {k: npz[k] for k in npz.files if not k.startswith("bank_")}
    old["version"] = np.int32(1)
    np.savez_compressed(tmp_path / "old.npz", **old)
    reader = ClipReader(tmp_path / "old.npz", frames_path)
    assert reader.bank is None
    engine = VisemeEngine()
    assert sum(1 for _ in engine.render(engine.prepare_clip(reader), speech[0], FPS)) > 0


def test_coverage_notes_are_translated():
    from django.utils import translation

    from avatars.messages import note_message

    note = {"code": "bank_good", "start": 0.0, "end": 4.0, "share": 0.46}
    texts = {}
    for language in ("en", "ru", "kk"):
        with translation.override(language):
            texts[language] = note_message(note)
            assert all(note_message({"code": code, "start": 0, "end": 4, "share": 0.1})
                       for code in ("bank_some", "bank_still", "bank_open"))
    assert "46%" in texts["en"] and all("46%" in t for t in texts.values())
    assert len(set(texts.values())) == 3


def test_every_bilabial_is_shut_where_the_speech_engine_timed_it():
    """The track refines a stop's edges on the waveform (this sentence's last "p" moves two frames
    earlier); the wanted mouth is shut at the speech engine's middle of every m/b/p as well."""
    from generation.pipeline.audio import prepare
    from generation.pipeline.lipsync import visemes_table as T
    from generation.pipeline.tts.espeak import EspeakBackend

    audio = prepare(EspeakBackend().synthesize("Bob met Pam by the mill. A big brown map, maybe more. "
                                               "People hope to be happy.", "en"))
    track = VisemeEngine().track(audio, FPS)
    wanted = viseme_bank.spoken_open(track.open, audio, FPS)
    middles = [(p.start + p.end) / 2 for p in audio.phonemes if p.end > p.start and p.symbol.strip(T.STRIP)
               and T.viseme(p.symbol).kind == T.CLOSURE]
    assert middles, "the speech has m/b/p"
    frames = [int(round((m - 0.02) * FPS)) for m in middles]
    assert all(wanted[k] == 0.0 for k in frames if k < len(wanted))


def test_the_drawn_fallback_mouth_is_in_the_clips_own_light(closed):
    """Measured on the clip (its sclera, skin, grain and softness), not the default neutral light."""
    from generation.pipeline.lipsync.mouth_photo import MouthInterior, face_light

    reader = ClipReader(*closed[1])
    engine = VisemeEngine()
    interior = engine.clip_interior(engine.prepare_clip(reader))
    k = int(np.argmin(reader.mouth_open))
    own = face_light(reader.frame(k), reader.landmarks[k])
    assert np.allclose(interior.teeth_rgb, own["teeth_rgb"])
    assert not np.allclose(interior.teeth_rgb, MouthInterior().teeth_rgb, atol=2.0)
    assert interior.own is None


def test_a_render_does_not_depend_on_what_the_worker_rendered_before(talking, closed, rendered, speech):
    """A worker renders many requests: the same clip and speech give the same bank, path and frames
    after another avatar spoke another language in the same process."""
    from generation.pipeline.audio import prepare
    from generation.pipeline.images import demo_avatar_image
    from generation.pipeline.tts.espeak import EspeakBackend

    reader, frames, path = rendered
    engine = VisemeEngine()
    other = prepare(EspeakBackend().synthesize("Біз бүгін мектепте боламыз.", "kk"))
    assert sum(1 for _ in engine.render(engine.prepare_clip(ClipReader(*closed[1])), other, FPS)) > 0
    photo = demo_avatar_image()
    assert sum(1 for _ in engine.render(engine.prepare(photo, FaceAnalyzer().analyze(photo)), other, FPS)) > 0
    again = ClipReader(*talking[1])
    assert again.bank.coverage == reader.bank.coverage
    track = engine.track(speech[0], FPS)
    replanned = viseme_bank.plan(again.bank, viseme_bank.spoken_open(track.open, speech[0], FPS), track.spread, track.round)
    assert all(np.array_equal(getattr(replanned, f), getattr(path, f)) for f in ("index", "mix", "use"))
    rerendered = list(engine.render(engine.prepare_clip(again), speech[0], FPS))
    assert len(rerendered) == len(frames) and all(np.array_equal(a, b) for a, b in zip(frames, rerendered))


def test_the_test_clips_speech_does_not_depend_on_what_was_said_before():
    """espeak-ng carries its wave generator's state between syntheses (tts/espeak.py), so the clips'
    and the bench's speech comes from a fresh process: the same samples after other speech here."""
    from generation.pipeline.tts.espeak import EspeakBackend

    first = mouth_clips.fresh_speech(mouth_clips.TEXTS["kk"], "kk")
    EspeakBackend().synthesize(mouth_clips.TEXTS["ru"], "ru")
    again = mouth_clips.fresh_speech(mouth_clips.TEXTS["kk"], "kk")
    assert np.array_equal(first.samples, again.samples) and first.phonemes == again.phonemes
