"""Lip-sync engines: `viseme` (built in, no weights) and `wav2lip` (official checkpoints in weights/)."""
from pathlib import Path

# Preferred first: the GAN checkpoint looks sharper around the mouth.
WAV2LIP_CHECKPOINTS = ("wav2lip_gan.pth", "wav2lip.pth")


def find_wav2lip_checkpoint(weights_dir) -> Path | None:
    """The Wav2Lip checkpoint in `weights_dir`, if any (found without importing torch)."""
    for name in WAV2LIP_CHECKPOINTS:
        path = Path(weights_dir) / name
        if path.is_file():
            return path
    return None
