"""The Wav2Lip generator, layer for layer as the official `models/wav2lip.py`, so its checkpoints load strictly.

Parameter names and shapes must equal `wav2lip_state_dict_manifest.json` (352 tensors): the module
tree below is laid out for that, not for elegance. Torch is imported here, so only the worker may
import this module.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FACE_SIZE = 96  # the generator's square face crop
FACE_CHANNELS = 6  # masked crop (lower half zeroed) + reference crop, both BGR
# The audio input is one (mel.N_MELS, mel.MEL_STEP) = (80, 16) window of mel.melspectrogram.


class Conv2d(nn.Module):
    """Conv + BatchNorm + ReLU, with an optional identity shortcut (same shape in and out)."""

    def __init__(self, cin: int, cout: int, kernel_size, stride, padding, residual: bool = False):
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel_size, stride, padding), nn.BatchNorm2d(cout))
        self.act = nn.ReLU()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        if self.residual:
            out = out + x
        return self.act(out)


class Conv2dTranspose(nn.Module):
    """Transposed conv + BatchNorm + ReLU: the decoder's up-sampling step."""

    def __init__(self, cin: int, cout: int, kernel_size, stride, padding, output_padding: int = 0):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ConvTranspose2d(cin, cout, kernel_size, stride, padding, output_padding), nn.BatchNorm2d(cout))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


def _res(channels: int, count: int) -> list[Conv2d]:
    """`count` residual 3x3 blocks that keep `channels` and the spatial size."""
    return [Conv2d(channels, channels, 3, 1, 1, residual=True) for _ in range(count)]


def _up(cin: int, cout: int, residuals: int) -> nn.Sequential:
    """One decoder step: 2x transposed conv, then residual blocks."""
    return nn.Sequential(Conv2dTranspose(cin, cout, 3, 2, 1, output_padding=1), *_res(cout, residuals))


class Wav2Lip(nn.Module):
    """Face encoder (96 -> 1 px, keeping every scale), audio encoder (80x16 mel -> 512), U-Net decoder."""

    def __init__(self):
        super().__init__()
        self.face_encoder_blocks = nn.ModuleList([
            nn.Sequential(Conv2d(FACE_CHANNELS, 16, 7, 1, 3)),  # 96x96
            nn.Sequential(Conv2d(16, 32, 3, 2, 1), *_res(32, 2)),  # 48x48
            nn.Sequential(Conv2d(32, 64, 3, 2, 1), *_res(64, 3)),  # 24x24
            nn.Sequential(Conv2d(64, 128, 3, 2, 1), *_res(128, 2)),  # 12x12
            nn.Sequential(Conv2d(128, 256, 3, 2, 1), *_res(256, 2)),  # 6x6
            nn.Sequential(Conv2d(256, 512, 3, 2, 1), *_res(512, 1)),  # 3x3
            nn.Sequential(Conv2d(512, 512, 3, 1, 0), Conv2d(512, 512, 1, 1, 0)),  # 1x1
        ])
        self.audio_encoder = nn.Sequential(
            Conv2d(1, 32, 3, 1, 1), *_res(32, 2),  # 80x16
            Conv2d(32, 64, 3, (3, 1), 1), *_res(64, 2),  # 27x16
            Conv2d(64, 128, 3, 3, 1), *_res(128, 2),  # 9x6
            Conv2d(128, 256, 3, (3, 2), 1), *_res(256, 1),  # 3x3
            Conv2d(256, 512, 3, 1, 0),  # 1x1
            Conv2d(512, 512, 1, 1, 0),
        )
        self.face_decoder_blocks = nn.ModuleList([
            nn.Sequential(Conv2d(512, 512, 1, 1, 0)),  # 1x1
            nn.Sequential(Conv2dTranspose(1024, 512, 3, 1, 0), *_res(512, 1)),  # 3x3
            _up(1024, 512, 2),  # 6x6
            _up(768, 384, 2),  # 12x12
            _up(512, 256, 2),  # 24x24
            _up(320, 128, 2),  # 48x48
            _up(160, 64, 2),  # 96x96
        ])
        self.output_block = nn.Sequential(Conv2d(80, 32, 3, 1, 1), nn.Conv2d(32, 3, 1, 1, 0), nn.Sigmoid())

    def encode_face(self, faces: torch.Tensor) -> list[torch.Tensor]:
        """Face-encoder outputs at every scale (96 px first): constant for a still photo."""
        feats, x = [], faces
        for block in self.face_encoder_blocks:
            x = block(x)
            feats.append(x)
        return feats

    def decode(self, audio: torch.Tensor, feats: list[torch.Tensor]) -> torch.Tensor:
        """Audio (B, 1, 80, 16) + face features (batch 1 or B) -> faces (B, 3, 96, 96) BGR in [0, 1]."""
        x = self.audio_encoder(audio)
        for block, skip in zip(self.face_decoder_blocks, reversed(feats)):
            x = block(x)
            if skip.shape[0] != x.shape[0]:
                skip = skip.expand(x.shape[0], -1, -1, -1)
            x = torch.cat((x, skip), dim=1)
        return self.output_block(x)

    def forward(self, audio_sequences: torch.Tensor, face_sequences: torch.Tensor) -> torch.Tensor:
        """The official call: mel (B, 1, 80, 16) and faces (B, 6, 96, 96) -> (B, 3, 96, 96)."""
        return self.decode(audio_sequences, self.encode_face(face_sequences))


# ---------------------------------------------------------------------------------------------
# The fast path for a still photo. Same function as `Wav2Lip.forward` restricted to output rows
# >= `first_row`, rearranged so per-frame work is only what depends on the audio:
#   * BatchNorm folded into each convolution (eval mode: an affine map per output channel);
#   * every decoder step's input is cat(x, skip) and its first layer is linear, so
#     layer(cat(x, skip)) = layer_x(x) + layer_skip(skip): the skip half (and the bias) is
#     computed once per avatar from the cached face features;
#   * rows above `first_row` are never pasted into the frame, so each decoder level computes only
#     the rows that feed the wanted ones (a 3x3 conv needs one row more above; a stride-2
#     transposed conv's output row 2i needs input row i only).
# Folding happens in place on the model's own tensors: no second copy of the weights is made.

@torch.no_grad()
def fold_bn_(conv: nn.Module, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold eval-mode `bn` into `conv`'s weight in place; returns (weight, bias) of the fused conv."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    weight = conv.weight.data
    weight.mul_(scale[None, :, None, None] if isinstance(conv, nn.ConvTranspose2d) else scale[:, None, None, None])
    bias = conv.bias.data if conv.bias is not None else torch.zeros_like(bn.running_mean)
    return weight, (bias - bn.running_mean) * scale + bn.bias


class FusedConv(nn.Module):
    """A `Conv2d` block with its BatchNorm folded in: conv (+ x) -> ReLU."""

    def __init__(self, block: Conv2d):
        super().__init__()
        conv = block.conv_block[0]
        weight, bias = fold_bn_(conv, block.conv_block[1])
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)
        self.stride, self.padding, self.residual = conv.stride, conv.padding, block.residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(x, self.weight, self.bias, self.stride, self.padding)
        if self.residual:
            out += x  # in place: fewer large temporaries per frame batch
        return out.relu_()


def rows_needed(first_row: int) -> list[int]:
    """First input row decoder steps 2..6 must compute (at 3, 6, 12, 24, 48 px) for exact rows >= first_row."""
    rows, need = [], first_row - 1  # the output block's 3x3 conv looks one row up
    for _ in range(5):  # steps 6, 5, 4, 3, 2: a stride-2 transposed conv, then two 3x3 residual convs
        need = max(0, need - 2) // 2  # output row 2i comes from input row i alone
        rows.append(need)
    return rows[::-1]


class SplitUp(nn.Module):
    """A decoder step whose transposed conv sees only x; the skip half arrives precomputed."""

    def __init__(self, step: nn.Sequential, x_channels: int):
        super().__init__()
        up = step[0].conv_block[0]
        weight, bias = fold_bn_(up, step[0].conv_block[1])
        # ConvTranspose2d weights are (cin, cout, k, k): splitting the inputs is a contiguous view
        self.register_buffer("w_x", weight[:x_channels])
        self.register_buffer("w_skip", weight[x_channels:])
        self.register_buffer("bias", bias)
        self.stride, self.padding, self.output_padding = up.stride, up.padding, up.output_padding
        self.rest = nn.Sequential(*[FusedConv(b) for b in step[1:]])

    def skip_term(self, skip: torch.Tensor) -> torch.Tensor:
        """The per-avatar half: transposed conv of the skip features, plus the bias."""
        return F.conv_transpose2d(skip, self.w_skip, self.bias, self.stride, self.padding, self.output_padding)

    def forward(self, x: torch.Tensor, skip_term: torch.Tensor) -> torch.Tensor:
        up = F.conv_transpose2d(x, self.w_x, None, self.stride, self.padding, self.output_padding)
        return self.rest(up.add_(skip_term).relu_())


class FaceEncoder(nn.Module):
    """`model`'s face encoder with BatchNorm folded in place: (B, 6, 96, 96) -> features at every scale.

    A still photo runs it once; a clip runs it on every clip frame, batched, so the fold (one
    convolution per layer instead of conv + BatchNorm) is worth having there.
    """

    def __init__(self, model: Wav2Lip):
        super().__init__()
        model.eval()
        self.blocks = nn.ModuleList([nn.Sequential(*[FusedConv(layer) for layer in block])
                                     for block in model.face_encoder_blocks])
        model.face_encoder_blocks = None  # now folded: unusable there

    def forward(self, faces: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of each of the 7 blocks, 96 px first (as `Wav2Lip.encode_face`)."""
        feats, x = [], faces
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats


class StillFaceDecoder(nn.Module):
    """Per-frame Wav2Lip for one fixed face: mel (B, 1, 80, 16) + per-avatar terms -> rows >= first_row.

    Takes over `model`'s audio encoder, decoder and output tensors (BatchNorm folded into them in
    place); the model's face encoder is left as it was.
    """

    def __init__(self, model: Wav2Lip, first_row: int):
        super().__init__()
        model.eval()
        self.first_row = first_row
        self.rows = rows_needed(first_row)
        self.audio_encoder = nn.Sequential(*[FusedConv(b) for b in model.audio_encoder])
        self.step0 = FusedConv(model.face_decoder_blocks[0][0])
        x_channels = [512, 512, 512, 384, 256, 128]  # what each step's predecessor outputs
        self.steps = nn.ModuleList([SplitUp(model.face_decoder_blocks[i], x_channels[i - 1]) for i in range(1, 7)])
        weight, bias = fold_bn_(model.output_block[0].conv_block[0], model.output_block[0].conv_block[1])
        self.register_buffer("head_x", weight[:, :64].contiguous())  # 64 decoder + 16 skip channels
        self.register_buffer("head_skip", weight[:, 64:].contiguous())
        self.register_buffer("head_bias", bias)
        self.register_buffer("out_w", model.output_block[1].weight.data)
        self.register_buffer("out_b", model.output_block[1].bias.data)
        for name in ("audio_encoder", "face_decoder_blocks", "output_block"):  # now folded: unusable there
            setattr(model, name, None)

    @torch.no_grad()
    def face_terms(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        """Per-avatar constants from the face-encoder features, cropped to the rows each step computes."""
        terms = []
        for i, step in enumerate(self.steps):  # step i+1 sees feats[6 - i]
            start = 2 * self.rows[i - 1] if i >= 1 else 0  # step 1 (1 -> 3 px) is computed whole
            # output row 2a + j of the stride-2 transposed conv reads input rows >= a only: feeding
            # rows a.. gives exactly output rows 2a.. (half the work at the large scales, per clip frame)
            terms.append(step.skip_term(feats[6 - i][:, :, start // 2:]).contiguous())
        top = 2 * self.rows[-1]
        if top > 0:  # the 3x3 conv reads one row above: start there and drop the row its padding spoils
            head = F.conv2d(feats[0][:, :, top - 1:], self.head_skip, self.head_bias, 1, 1)[:, :, 1:]
        else:
            head = F.conv2d(feats[0], self.head_skip, self.head_bias, 1, 1)
        return terms + [head.contiguous()]

    def forward(self, mel: torch.Tensor, *terms: torch.Tensor) -> torch.Tensor:
        """(B, 3, 96 - first_row, 96) BGR in [0, 1]; `terms` from `face_terms`."""
        x = self.step0(self.audio_encoder(mel))
        x = self.steps[0](x, terms[0])
        for i in range(1, 6):
            drop = self.rows[i - 1] - (2 * self.rows[i - 2] if i >= 2 else 0)  # rows not needed any more
            x = self.steps[i](x[:, :, drop:], terms[i])
        y = F.conv2d(x, self.head_x, None, 1, 1).add_(terms[6]).relu_()
        y = F.conv2d(y, self.out_w, self.out_b).sigmoid_()
        return y[:, :, self.first_row - 2 * self.rows[-1]:]


def random_wav2lip(seed: int = 0, gain: float = 1.2) -> Wav2Lip:
    """Random weights of the official shape for tests and benchmarks (no real checkpoint here).

    PyTorch's default init fades the audio out over the deep stack (frames would differ by ~1e-6),
    so convolutions get He init scaled by `gain` and BatchNorm non-trivial statistics: the output
    then depends visibly on both inputs, and equality checks between code paths mean something.
    """
    generator = torch.Generator().manual_seed(seed)
    model = Wav2Lip()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                fan_in = m.weight[0].numel() if isinstance(m, nn.Conv2d) else m.weight.shape[0] * m.weight[0, 0].numel()
                m.weight.normal_(0.0, gain / fan_in ** 0.5, generator=generator)
                m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0.0, 0.1, generator=generator)
                m.running_var.uniform_(0.8, 1.25, generator=generator)
                m.weight.uniform_(0.9, 1.1, generator=generator)
                m.bias.normal_(0.0, 0.05, generator=generator)
    return model.eval()


def save_as_official(model: Wav2Lip, path) -> None:
    """Save `model` as the official training script does: DataParallel `module.` names, optimizer state."""
    state = {"module." + name: tensor for name, tensor in model.state_dict().items()}
    optimizer = {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.zeros(4)}},
                 "param_groups": [{"lr": 1e-4, "betas": (0.5, 0.999), "params": [0]}]}
    torch.save({"state_dict": state, "optimizer": optimizer, "global_step": 3000, "global_epoch": 7}, path)
