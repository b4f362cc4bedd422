"""WAV2LIP_PRECISION=auto: the CPU-flag check, the bf16 self-test's accept and reject paths, the default."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from generation.pipeline.lipsync import wav2lip as W
from generation.pipeline.lipsync import wav2lip_precision as P
from generation.pipeline.lipsync.wav2lip_model import random_wav2lip, save_as_official
from generation.pipeline.runner import PipelineConfig

ROOT = Path(__file__).resolve().parents[2]
XEON_CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu vme sse sse2 avx avx2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8
"""
EPYC_AVX2_CPUINFO = "processor\t: 0\nmodel name\t: AMD EPYC 7B12\nflags\t\t: fpu sse sse2 avx avx2 fma\n"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "wav2lip_gan.pth"
    save_as_official(random_wav2lip(seed=0), path)
    return path


@pytest.fixture(scope="module")
def exact(checkpoint) -> W.Wav2LipEngine:
    """auto on a CPU without native bf16: fp32, and the self-test never ran."""
    return W.Wav2LipEngine(checkpoint, threads=2, batch_size=2, precision="auto", cpu_flags=frozenset({"avx2"}))


def _self_test_output(engine: W.Wav2LipEngine) -> np.ndarray:
    face6, mels = P.self_test_inputs(engine.batch_size)
    return engine._decode(engine.face_terms(face6), mels)


def test_cpu_flags_are_read_from_cpuinfo_text():
    assert {"avx512_bf16", "amx_bf16"} <= P.cpu_flags(XEON_CPUINFO)
    assert P.native_bf16(P.cpu_flags(XEON_CPUINFO)) == ["amx_bf16", "avx512_bf16"]
    assert P.native_bf16(P.cpu_flags(EPYC_AVX2_CPUINFO)) == []
    assert P.native_bf16(frozenset({"avx512_bf16"})) == ["avx512_bf16"]  # Zen 4: no AMX, still native
    assert P.cpu_flags("processor\t: 0\n") is None


def test_auto_without_native_bf16_is_fp32_and_skips_the_self_test():
    choice = P.choose("auto", P.cpu_flags(EPYC_AVX2_CPUINFO), lambda: pytest.fail("self-test ran"))
    assert choice.precision == "fp32" and "no native bfloat16" in choice.reason


@pytest.mark.parametrize("error, want", [(0.5 / 255, "bf16"), (2 / 255, "bf16"), (2.5 / 255, "fp32"),
                                         (float("nan"), "fp32")])
def test_auto_with_native_bf16_follows_the_self_test(error, want):
    choice = P.choose("auto", P.cpu_flags(XEON_CPUINFO), lambda: error)
    assert choice.precision == want
    assert "amx_bf16" in choice.reason and "self-test" in choice.reason


def test_auto_stays_fp32_when_the_self_test_cannot_run():
    def broken():
        raise RuntimeError("no bf16 kernels")

    choice = P.choose("auto", frozenset({"avx512_bf16"}), broken)
    assert choice.precision == "fp32" and "no bf16 kernels" in choice.reason


def test_explicit_settings_are_obeyed_without_a_self_test():
    for setting in ("fp32", "bf16"):
        choice = P.choose(setting, frozenset(), lambda: pytest.fail("self-test ran"))
        assert choice == P.Choice(setting, f"WAV2LIP_PRECISION={setting}")
    with pytest.raises(ValueError, match="auto, fp32, bf16"):
        P.choose("fp16", None, lambda: 0.0)


def test_self_test_input_is_fixed_and_in_range():
    (face_a, mels_a), (face_b, mels_b) = P.self_test_inputs(), P.self_test_inputs()
    assert np.array_equal(face_a, face_b) and np.array_equal(mels_a, mels_b)
    assert face_a.shape == (6, 96, 96) and mels_a.shape == (P.SELF_TEST_FRAMES, 80, 16)
    assert 0 <= face_a.min() and face_a.max() <= 1 and not face_a[:3, 48:].any()  # lower half masked
    assert -4 <= mels_a.min() < mels_a.max() <= 4


def test_engine_without_native_bf16_stays_fp32(exact):
    assert exact.precision == "fp32" and "no native bfloat16" in exact.precision_reason


def test_engine_keeps_bf16_when_the_self_test_passes(checkpoint, exact, caplog):
    with caplog.at_level(logging.INFO, logger=W.__name__):
        fast = W.Wav2LipEngine(checkpoint, threads=2, batch_size=2, precision="auto", cpu_flags=frozenset({"amx_bf16"}),
                               tolerance=1.0)
    assert fast.precision == "bf16" and {b.dtype for b in fast.decoder.buffers()} == {torch.bfloat16}
    assert "Wav2Lip runs in bf16" in caplog.text and "amx_bf16" in caplog.text  # the worker log says why
    got, want = _self_test_output(fast), _self_test_output(exact)
    assert 0 < np.abs(got - want).max() < 0.05  # really bf16


def test_engine_restores_exact_weights_when_the_self_test_fails(checkpoint, exact, caplog):
    with caplog.at_level(logging.INFO, logger=W.__name__):
        engine = W.Wav2LipEngine(checkpoint, threads=2, batch_size=2, precision="auto",
                                 cpu_flags=frozenset({"amx_bf16"}),
                                 tolerance=0.0)
    assert engine.precision == "fp32" and "staying exact" in caplog.text
    assert {b.dtype for m in (engine.decoder, engine.encoder) for b in m.state_dict().values()} == {torch.float32}
    # not weights that went through bf16 and back: the same numbers as an engine that never left fp32
    assert np.array_equal(_self_test_output(engine), _self_test_output(exact))


def test_auto_is_the_default():
    assert PipelineConfig().wav2lip_precision == "auto"
    env = {k: v for k, v in os.environ.items() if k != "WAV2LIP_PRECISION"}
    code = "import avatarsite.settings as s; print(s.WAV2LIP_PRECISION)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "auto"
