"""Which number format Wav2Lip runs in: `auto` picks bf16 where the CPU computes it natively and it stays close.

bf16 triples Wav2Lip's speed on an Intel Xeon with AMX and doubles it on AMD Zen 4 (avx512_bf16), but
a CPU without native bfloat16 emulates it 13x slower than fp32 (README, bench/wav2lip.py). So `auto`
asks the CPU's flags first and then checks the loaded weights: a short self-test must find the bf16
output within SELF_TEST_TOLERANCE of fp32 on a fixed input, or the engine stays fp32.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

PRECISIONS = ("fp32", "bf16")
SETTINGS = ("auto",) + PRECISIONS
# CPU flags (Linux /proc/cpuinfo spelling) meaning bfloat16 arithmetic in hardware
NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
CPUINFO = Path("/proc/cpuinfo")
SELF_TEST_TOLERANCE = 2 / 255  # largest bf16-vs-fp32 difference accepted, output in [0, 1]
SELF_TEST_SEED = 20240528
SELF_TEST_FRAMES = 8  # one decoder batch: the shape the worker's warm-up compiles anyway


@dataclass(frozen=True)
class Choice:
    """The precision to run in and why, in words for the worker log."""

    precision: str
    reason: str


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str] | None:
    """The CPU's feature flags from /proc/cpuinfo text (read when not given); None where there is none."""
    if cpuinfo is None:
        try:
            cpuinfo = CPUINFO.read_text(errors="replace")
        except OSError:
            return None
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86 / ARM spelling
            return frozenset(value.split())
    return None


def torch_native_bf16() -> bool:
    """torch's own check of the CPU (for systems without /proc/cpuinfo)."""
    import torch

    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(bool(check()) for check in checks if callable(check))


def native_bf16(flags: Iterable[str] | None) -> list[str]:
    """The flags among NATIVE_BF16_FLAGS this CPU has; with no flags known, torch's check decides."""
    if flags is None:
        return ["torch.cpu reports native bf16"] if torch_native_bf16() else []
    present = set(flags)
    return [flag for flag in NATIVE_BF16_FLAGS if flag in present]


def self_test_inputs(frames: int = SELF_TEST_FRAMES, size: int = 96, n_mels: int = 80, steps: int = 16,
                     seed: int = SELF_TEST_SEED) -> tuple[np.ndarray, np.ndarray]:
    """A fixed face input (6, size, size) in [0, 1] and (frames, n_mels, steps) mel windows in [-4, 4].

    The face is smooth shading with fine grain, as a real crop is; the mels span speech's range.
    """
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:size, 0:size] / size
    shading = 0.55 + 0.25 * np.sin(3.0 * xs + 1.0) * np.cos(2.0 * ys)
    face = np.clip(shading[None] + rng.normal(0.0, 0.04, (3, size, size)), 0.0, 1.0)
    masked = face.copy()
    masked[:, size // 2:] = 0.0  # the official input: the lower half masked, then the full crop
    face6 = np.concatenate([masked, face]).astype(np.float32)
    mels = np.clip(rng.normal(-1.0, 1.6, (frames, n_mels, steps)), -4.0, 4.0).astype(np.float32)
    return face6, mels


def choose(setting: str, flags: Iterable[str] | None, bf16_error: Callable[[], float],
           tolerance: float = SELF_TEST_TOLERANCE) -> Choice:
    """The precision for WAV2LIP_PRECISION=`setting`; `bf16_error()` runs the self-test, only when needed."""
    if setting in PRECISIONS:
        return Choice(setting, f"WAV2LIP_PRECISION={setting}")
    if setting != "auto":
        raise ValueError(f"Wav2Lip precision must be one of {', '.join(SETTINGS)}, not «{setting}».")
    native = native_bf16(flags)
    if not native:
        return Choice("fp32", f"auto: the CPU has no native bfloat16 (none of {', '.join(NATIVE_BF16_FLAGS)})")
    try:
        error = float(bf16_error())
    except Exception as exc:  # a torch build without bf16 kernels: the exact path still works
        return Choice("fp32", f"auto: the CPU has {', '.join(native)} but the bf16 self-test failed ({exc})")
    figures = f"bf16 self-test {error * 255:.2f}/255 from fp32, limit {tolerance * 255:.0f}/255"
    if np.isfinite(error) and error <= tolerance:
        return Choice("bf16", f"auto: the CPU has {', '.join(native)}; {figures}")
    return Choice("fp32", f"auto: the CPU has {', '.join(native)} but {figures}: staying exact")
