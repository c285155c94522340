#!/usr/bin/python3
"""Make Cloister's demonstration models for cloister-infer, reproducibly.

Generates synthetic chest CT phantoms (Hounsfield units), trains three small networks on them with
PyTorch on the CPU and exports each to ONNX with a manifest, a model card and reference input/output
tensors for tests:

  models/demo-chest-classifier/     normal / nodule / effusion classifier (2D, 128x128)
  models/demo-lung-segmenter/       background / lung / nodule segmenter (2D U-Net, 128x128)
  tests/data/models/tiny-seg3d/     tiny 3D background / lesion segmenter (tests of the 3D path only)
  models/samples/                   two 8-bit PNG renderings of phantoms for the server's tests
  models/SHA256SUMS, models/README.md

Synthetic data only. Demonstration only: not a medical device, not for clinical use.

Usage (from the repository root, Debian's python3 with python3-torch and python3-numpy):
  /usr/bin/python3 models/make-demo-models.py            # regenerate everything in place
  /usr/bin/python3 models/make-demo-models.py --check    # regenerate into a temporary directory and
                                                         # compare SHA-256 with the files in the tree

Everything is seeded and runs on one thread with deterministic algorithms, so two runs on the same
machine and PyTorch build give byte-identical files.
"""

import argparse
import hashlib
import io
import json
import math
import os
import struct
import sys
import tempfile
import time
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_REL = "models"
TINY3D_REL = os.path.join("tests", "data", "models", "tiny-seg3d")

SIZE = 128                      # 2D slice size (pixels)
VOL_SHAPE = (16, 32, 32)        # 3D volume size (D, H, W)
WINDOW_CENTER = -600.0          # lung window
WINDOW_WIDTH = 1500.0
NORM_MEAN = 0.5
NORM_STD = 0.25
OPSET = 13
CLASS_LABELS = ["normal", "nodule", "effusion"]
SEG_LABELS = ["background", "lung", "nodule"]
SEG3D_LABELS = ["background", "lesion"]
INTENDED_USE = ("Demonstration only: trained on synthetic images; not a medical device; "
                "not for clinical use.")
NOT_CLINICAL = ("**Synthetic data, demonstration only — not a medical device and not for clinical "
                "use.** The models were trained on computer-generated phantoms, never on patient "
                "images, and say nothing about real patients.")


# ---------------------------------------------------------------------------------------------
# Preprocessing (must match the C++ side: DICOM linear VOI window, then normalisation)
# ---------------------------------------------------------------------------------------------

def preprocess(hu):
    """HU -> [0, 1] with the DICOM linear VOI formula (lung window), then (x - 0.5) / 0.25."""
    v = np.asarray(hu, dtype=np.float64)
    c, w = WINDOW_CENTER, WINDOW_WIDTH
    x = np.clip((v - (c - 0.5)) / (w - 1.0) + 0.5, 0.0, 1.0)
    return ((x - NORM_MEAN) / NORM_STD).astype(np.float32)


def window_u8(hu):
    """8-bit display rendering in the same lung window."""
    v = np.asarray(hu, dtype=np.float64)
    c, w = WINDOW_CENTER, WINDOW_WIDTH
    x = np.clip((v - (c - 0.5)) / (w - 1.0) + 0.5, 0.0, 1.0)
    return np.floor(x * 255.0 + 0.5).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Synthetic chest phantoms
# ---------------------------------------------------------------------------------------------

_YY, _XX = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)


def ellipse(cx, cy, ax, ay, angle):
    """Boolean mask of a rotated ellipse (centre, semi-axes in pixels, angle in radians)."""
    dx, dy = _XX - cx, _YY - cy
    ca, sa = math.cos(angle), math.sin(angle)
    u = (dx * ca + dy * sa) / ax
    v = (-dx * sa + dy * ca) / ay
    return u * u + v * v <= 1.0


def disc(cx, cy, r):
    """Boolean mask of a disc, evaluated only on its bounding box."""
    m = np.zeros((SIZE, SIZE), dtype=bool)
    y0, y1 = max(0, int(cy - r) - 1), min(SIZE, int(cy + r) + 2)
    x0, x1 = max(0, int(cx - r) - 1), min(SIZE, int(cx + r) + 2)
    if y0 < y1 and x0 < x1:
        m[y0:y1, x0:x1] = (_XX[y0:y1, x0:x1] - cx) ** 2 + (_YY[y0:y1, x0:x1] - cy) ** 2 <= r * r
    return m


def blur3(img):
    """Separable [1 2 1] / 4 blur with edge replication (partial-volume look)."""
    p = np.pad(img, 1, mode="edge")
    h = (p[:, :-2] + 2.0 * p[:, 1:-1] + p[:, 2:]) * 0.25
    return (h[:-2, :] + 2.0 * h[1:-1, :] + h[2:, :]) * 0.25


def chest_phantom(rng, kind):
    """One 128x128 axial chest phantom in HU and its label map (0 background, 1 lung, 2 nodule).

    kind: 0 normal, 1 nodule (1-3 round lesions in the lungs), 2 effusion (fluid in the lower
    part of one or both lungs; fluid is labelled background, i.e. not aerated lung).
    """
    u = rng.uniform
    cx, cy = SIZE / 2 + u(-4, 4), SIZE / 2 + u(-4, 4)
    a, b = u(50, 60), u(36, 46)
    rot = math.radians(u(-8, 8))
    img = np.full((SIZE, SIZE), -1000.0)
    body = ellipse(cx, cy, a, b, rot)
    fat = u(4, 7)
    inner = ellipse(cx, cy, a - fat, b - fat, rot)
    img[body] = u(-120, -80)                          # subcutaneous fat
    img[inner] = u(20, 60)                            # soft tissue

    ca, sa = math.cos(rot), math.sin(rot)

    def to_image(px, py):                             # body frame -> image coordinates
        return cx + px * ca - py * sa, cy + px * sa + py * ca

    lungs = []
    lung_hu = u(-850, -750)
    for side in (-1.0, 1.0):
        lx, ly = to_image(side * u(0.40, 0.48) * a, u(-0.15, 0.05) * b)
        lax, lay = u(0.25, 0.32) * a, u(0.55, 0.70) * b
        lrot = rot + side * math.radians(u(-15, 15))
        m = ellipse(lx, ly, lax, lay, lrot) & inner
        lungs.append(m)
    # heart (anterior, slightly to the patient's left = image right) and spine (posterior)
    hx, hy = to_image(u(0.05, 0.15) * a, u(-0.15, 0.0) * b)
    heart = ellipse(hx, hy, u(0.18, 0.24) * a, u(0.28, 0.36) * b, rot + math.radians(u(-20, 20)))
    sx, sy = to_image(u(-0.03, 0.03) * a, u(0.62, 0.72) * b)
    spine = disc(sx, sy, u(5, 8))
    lungs = [m & ~heart & ~spine for m in lungs]
    lung = lungs[0] | lungs[1]
    img[lung] = lung_hu
    img[heart] = u(30, 50)
    img[spine] = u(650, 750)

    # small pulmonary vessels (radius <= 1.5 px): part of the lung label
    lung_idx = np.flatnonzero(lung)
    for _ in range(int(rng.integers(6, 16))):
        k = lung_idx[int(rng.integers(0, lung_idx.size))]
        vy, vx = divmod(int(k), SIZE)
        img[disc(vx + u(-0.5, 0.5), vy + u(-0.5, 0.5), u(0.8, 1.5)) & lung] = u(-150, 0)

    labels = np.zeros((SIZE, SIZE), dtype=np.uint8)
    labels[lung] = 1
    if kind == 1:
        for _ in range(int(rng.integers(1, 4))):
            r = u(3, 8)
            for _attempt in range(30):
                k = lung_idx[int(rng.integers(0, lung_idx.size))]
                ny, nx = divmod(int(k), SIZE)
                nod = disc(nx + u(-0.5, 0.5), ny + u(-0.5, 0.5), r)
                inside = nod & lung
                if inside.sum() >= 0.8 * nod.sum():
                    break
            img[inside] = u(20, 80)
            labels[inside] = 2
    elif kind == 2:
        which = [0, 1] if rng.uniform() < 0.4 else [int(rng.integers(0, 2))]
        for i in which:
            ys = np.nonzero(lungs[i])[0]
            xs = np.nonzero(lungs[i])[1]
            top, bottom = ys.min(), ys.max()
            level = bottom - u(0.25, 0.55) * (bottom - top)
            tilt = u(-0.1, 0.1)
            fluid = lungs[i] & (_YY > level + tilt * (_XX - xs.mean()))
            img[fluid] = u(0, 20)
            labels[fluid] = 0

    img = blur3(img) + rng.normal(0.0, u(8, 12), size=img.shape)
    return np.clip(img, -1024, 3071).astype(np.float32), labels


def make_2d_set(seed, kinds):
    """Preprocessed phantoms as a float32 [n, 1, 128, 128] tensor and their label maps."""
    rng = np.random.Generator(np.random.PCG64(seed))
    x = torch.empty(len(kinds), 1, SIZE, SIZE)
    labs = np.empty((len(kinds), SIZE, SIZE), dtype=np.uint8)
    for i, k in enumerate(kinds):
        h, labs[i] = chest_phantom(rng, int(k))
        x[i, 0] = torch.from_numpy(preprocess(h))
    return x, labs


_ZZ3, _YY3, _XX3 = np.mgrid[0:VOL_SHAPE[0], 0:VOL_SHAPE[1], 0:VOL_SHAPE[2]].astype(np.float64)


def blob_volume(rng):
    """16x32x32 volume of lung-like parenchyma with 1-2 ellipsoidal lesions (labels 0/1)."""
    u = rng.uniform
    vol = np.full(VOL_SHAPE, u(-850, -750))
    lab = np.zeros(VOL_SHAPE, dtype=np.uint8)
    for _ in range(int(rng.integers(1, 3))):
        cz, cy, cx = u(4, 12), u(8, 24), u(8, 24)
        rz, ry, rx = u(1.5, 3.5), u(2, 5), u(2, 5)
        m = ((_ZZ3 - cz) / rz) ** 2 + ((_YY3 - cy) / ry) ** 2 + ((_XX3 - cx) / rx) ** 2 <= 1.0
        vol[m] = u(20, 80)
        lab[m] = 1
    vol = vol + rng.normal(0.0, 10.0, size=VOL_SHAPE)
    return vol.astype(np.float32), lab


# ---------------------------------------------------------------------------------------------
# Networks (operators: Conv, BatchNormalization, Relu, MaxPool, GlobalAveragePool, Flatten, Gemm,
# ConvTranspose, Concat)
# ---------------------------------------------------------------------------------------------

def cbr(cin, cout, stride=1):
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class ChestClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            *cbr(1, 8, stride=2),                       # 64x64
            *cbr(8, 16), nn.MaxPool2d(2),              # 32x32
            *cbr(16, 32), nn.MaxPool2d(2),             # 16x16
            *cbr(32, 48), nn.MaxPool2d(2),             # 8x8
            *cbr(48, 64))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 3)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class LungUNet(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.enc1 = nn.Sequential(*cbr(1, c), *cbr(c, c))
        self.enc2 = nn.Sequential(*cbr(c, 2 * c), *cbr(2 * c, 2 * c))
        self.bottom = nn.Sequential(*cbr(2 * c, 4 * c), *cbr(4 * c, 4 * c))
        self.up2 = nn.ConvTranspose2d(4 * c, 2 * c, 2, 2)
        self.dec2 = nn.Sequential(*cbr(4 * c, 2 * c))
        self.up1 = nn.ConvTranspose2d(2 * c, c, 2, 2)
        self.dec1 = nn.Sequential(*cbr(2 * c, c))
        self.head = nn.Conv2d(c, 3, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.bottom(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1)


class TinySeg3d(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv3d(1, 4, 3, padding=1), nn.ReLU(),
            nn.Conv3d(4, 4, 3, padding=1), nn.ReLU(),
            nn.Conv3d(4, 2, 1))

    def forward(self, x):
        return self.net(x)


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

def cosine_lr(opt, base, step, total):
    for g in opt.param_groups:
        g["lr"] = base * 0.5 * (1.0 + math.cos(math.pi * step / total))


def predict(model, x, batch=64):
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            outs.append(model(x[i:i + batch]))
    return torch.cat(outs)


def train_classifier(log):
    n_train_per, n_val_per = 1200, 200
    rng = np.random.Generator(np.random.PCG64(11))
    kinds = rng.permutation(np.repeat(np.arange(3), n_train_per))
    x, _ = make_2d_set(12, kinds)
    y = torch.from_numpy(kinds.astype(np.int64))
    vkinds = np.repeat(np.arange(3), n_val_per)
    vx, _ = make_2d_set(13, vkinds)
    log(f"classifier: generated {x.shape[0]} training and {vx.shape[0]} validation slices")

    torch.manual_seed(21)
    model = ChestClassifier()
    epochs, batch, base_lr = 4, 32, 2e-3
    opt = torch.optim.Adam(model.parameters(), lr=base_lr)
    steps_per_epoch = x.shape[0] // batch
    total, step = epochs * steps_per_epoch, 0
    for epoch in range(epochs):
        model.train()
        perm = torch.from_numpy(rng.permutation(x.shape[0]))
        loss_sum = 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * batch:(i + 1) * batch]
            cosine_lr(opt, base_lr, step, total)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += float(loss)
            step += 1
        pred = predict(model, vx).argmax(1).numpy()
        log(f"classifier: epoch {epoch + 1}/{epochs} loss {loss_sum / steps_per_epoch:.4f} "
            f"val acc {np.mean(pred == vkinds):.4f}")
    pred = predict(model, vx).argmax(1).numpy()
    confusion = np.zeros((3, 3), dtype=np.int64)
    for t, p in zip(vkinds, pred):
        confusion[t, p] += 1
    figures = {
        "train_size": int(x.shape[0]), "val_size": int(vx.shape[0]),
        "epochs": epochs, "batch": batch, "lr": base_lr,
        "val_accuracy": float(np.mean(pred == vkinds)),
        "confusion": confusion.tolist(),
    }
    return model, figures


def dice_per_class(pred, target, classes):
    out = {}
    for c in classes:
        p, t = pred == c, target == c
        denom = p.sum() + t.sum()
        out[c] = float(2.0 * (p & t).sum() / denom) if denom else 1.0
    return out


def train_segmenter(log):
    n_train, n_val = 1600, 160
    rng = np.random.Generator(np.random.PCG64(31))
    # half nodule phantoms, a quarter each normal / effusion
    kinds = rng.choice(np.array([0, 1, 1, 2]), size=n_train)
    x, lab = make_2d_set(32, kinds)
    y = torch.from_numpy(lab.astype(np.int64))
    vkinds = np.array([0, 1, 1, 2] * (n_val // 4))
    vx, vlab = make_2d_set(33, vkinds)
    log(f"segmenter: generated {x.shape[0]} training and {vx.shape[0]} validation slices")

    torch.manual_seed(41)
    model = LungUNet()
    epochs, batch, base_lr = 2, 16, 4e-3
    opt = torch.optim.Adam(model.parameters(), lr=base_lr)
    steps_per_epoch = x.shape[0] // batch
    total, step = epochs * steps_per_epoch, 0
    for epoch in range(epochs):
        model.train()
        perm = torch.from_numpy(rng.permutation(x.shape[0]))
        loss_sum = 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * batch:(i + 1) * batch]
            cosine_lr(opt, base_lr, step, total)
            logits = model(x[idx])
            target = y[idx]
            ce = F.cross_entropy(logits, target)
            prob = logits.softmax(1)
            onehot = F.one_hot(target, 3).permute(0, 3, 1, 2).to(prob.dtype)
            inter = (prob * onehot).sum((0, 2, 3))
            denom = prob.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
            soft_dice = (2.0 * inter + 1.0) / (denom + 1.0)
            loss = ce + (1.0 - soft_dice[1:].mean())
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += float(loss)
            step += 1
        pred = predict(model, vx, 32).argmax(1).numpy()
        d = dice_per_class(pred, vlab, [1, 2])
        log(f"segmenter: epoch {epoch + 1}/{epochs} loss {loss_sum / steps_per_epoch:.4f} "
            f"val Dice lung {d[1]:.4f} nodule {d[2]:.4f}")
    pred = predict(model, vx, 32).argmax(1).numpy()
    d = dice_per_class(pred, vlab, [1, 2])
    nod = vkinds == 1
    per_image = [dice_per_class(pred[i], vlab[i], [2])[2] for i in np.flatnonzero(nod)]
    figures = {
        "train_size": int(x.shape[0]), "val_size": int(vx.shape[0]),
        "epochs": epochs, "batch": batch, "lr": base_lr,
        "dice_lung": d[1], "dice_nodule": d[2],
        "dice_nodule_mean_per_image": float(np.mean(per_image)),
        "pixel_accuracy": float(np.mean(pred == vlab)),
    }
    return model, figures


def train_tiny3d(log):
    rng = np.random.Generator(np.random.PCG64(51))
    vols, labs = zip(*[blob_volume(rng) for _ in range(48)])
    x = torch.from_numpy(preprocess(np.stack(vols))[:, None])
    y = torch.from_numpy(np.stack(labs).astype(np.int64))
    vvols, vlabs = zip(*[blob_volume(rng) for _ in range(16)])
    vx = torch.from_numpy(preprocess(np.stack(vvols))[:, None])
    vlab = np.stack(vlabs)

    torch.manual_seed(61)
    model = TinySeg3d()
    steps, batch, lr = 60, 4, 1e-2
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    weight = torch.tensor([1.0, 5.0])
    for step in range(steps):
        idx = torch.from_numpy(rng.integers(0, x.shape[0], size=batch))
        loss = F.cross_entropy(model(x[idx]), y[idx], weight=weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
    pred = predict(model, vx, 16).argmax(1).numpy()
    d = dice_per_class(pred, vlab, [1])
    log(f"tiny-seg3d: {steps} steps, final loss {float(loss):.4f}, val Dice lesion {d[1]:.4f}")
    figures = {"train_size": int(x.shape[0]), "val_size": int(vx.shape[0]), "steps": steps,
               "batch": batch, "lr": lr, "dice_lesion": d[1]}
    return model, figures


# ---------------------------------------------------------------------------------------------
# Export and files
# ---------------------------------------------------------------------------------------------

def export_onnx(model, example, input_name, dynamic_batch):
    model.eval()
    buf = io.BytesIO()
    dynamic_axes = {input_name: {0: "N"}, "logits": {0: "N"}} if dynamic_batch else None
    torch.onnx.export(
        model, example, buf, export_params=True, opset_version=OPSET, do_constant_folding=True,
        input_names=[input_name], output_names=["logits"], dynamic_axes=dynamic_axes,
        training=torch.onnx.TrainingMode.EVAL, keep_initializers_as_inputs=False)
    return buf.getvalue()


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def png_gray8(img):
    """Minimal 8-bit grayscale PNG writer (zlib + struct, no PIL)."""
    h, w = img.shape

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def manifest(name, sha, task, description, input_name, in_shape, out_shape, labels, activation,
             max_batch):
    m = {
        "name": name,
        "version": "1",
        "sha256": sha,
        "task": task,
        "description": description,
        "intended_use": INTENDED_USE,
        "model_card": "MODEL_CARD.md",
        "inputs": [{"name": input_name, "datatype": "FP32", "shape": in_shape}],
        "outputs": [{"name": "logits", "datatype": "FP32", "shape": out_shape}],
        "labels": labels,
        "preprocessing": {
            "intensity": {"window_center": int(WINDOW_CENTER), "window_width": int(WINDOW_WIDTH)},
            "interpolation": "linear",
            "normalize": {"mean": [NORM_MEAN], "std": [NORM_STD]},
        },
        "postprocessing": {"activation": activation},
        "batching": {"max_batch_size": max_batch},
    }
    return json.dumps(m, indent=2) + "\n"


def torch_out(model, x):
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()


def count_params(model):
    return sum(p.numel() for p in model.parameters())


PREPROCESSING_MD = """\
## Input and preprocessing

Input: CT intensities in Hounsfield units (after the DICOM rescale slope/intercept), resampled
with linear interpolation to the input size. The server applies, from the manifest:

1. Lung window, DICOM linear VOI formula with centre c = -600 and width w = 1500:
   `y = clamp((v - (c - 0.5)) / (w - 1) + 0.5, 0, 1)`
2. Normalisation: `x = (y - 0.5) / 0.25`

The model was trained on exactly this input.
"""

REFERENCE_MD = """\
## Reference tensors (for tests)

- `reference_input.npy`: {n_in} preprocessed input(s), float32 {in_shape}, C order.
- `reference_output.npy`: the PyTorch output on it, float32 {out_shape}.
- `reference_hu.npy`: one raw phantom in HU before preprocessing, float32 {hu_shape} ({hu_axes}).
- `reference_hu_output.npy`: the PyTorch output for that phantom after the preprocessing above
  (computed in NumPy) with a batch of one, float32 {hu_out_shape}.
"""


def classifier_card(fig, params, size, sha):
    c = fig["confusion"]
    rows = "\n".join(f"| {CLASS_LABELS[i]} | {c[i][0]} | {c[i][1]} | {c[i][2]} |" for i in range(3))
    return f"""# Model card: demo-chest-classifier (version 1)

{NOT_CLINICAL}

## What it is

A small convolutional network that classifies one synthetic 128x128 axial chest CT slice as
`normal`, `nodule` or `effusion`. It exists so that Cloister's diagnostic provider
(cloister-infer) has a real, reproducible model to serve, test and benchmark.

- File: `model.onnx` ({size} bytes, SHA-256 `{sha}`), ONNX opset {OPSET}, {params} parameters.
- Input `image`: FP32 [N, 1, 128, 128] (N dynamic; the server batches up to 8).
- Output `logits`: FP32 [N, 3], raw class scores in the order of `labels`; apply softmax.
- Labels: 0 `normal`, 1 `nodule`, 2 `effusion`.

## Architecture

Five Conv 3x3 + BatchNorm + ReLU blocks (8, 16, 32, 48, 64 channels; the first with stride 2),
MaxPool 2x2 after blocks 2-4, global average pooling, flatten, one fully connected layer
(64 -> 3). Exported graph operators: Conv (batch norm folded in), Relu, MaxPool,
GlobalAveragePool, Flatten, Gemm.

## Training data (synthetic)

Generated by `models/make-demo-models.py` (fixed seeds): axial chest phantoms in HU — air
(-1000 HU) outside an elliptical body with a fat layer (-120..-80 HU) and soft tissue
(20..60 HU), two lung ellipses (-850..-750 HU) with a few small vessels (radius <= 1.5 px),
a heart ellipse (30..50 HU) and a spine disc (650..750 HU); random sizes, positions and
rotations; a 3x3 blur and Gaussian noise (sigma 8..12 HU).
`nodule`: 1-3 round lesions (radius 3-8 px, 20..80 HU) inside the lungs.
`effusion`: fluid (0..20 HU) filling the lower 25-55 % of one or both lungs.
{fig['train_size']} training slices (balanced), {fig['val_size']} validation slices
(balanced, separate seed).

## Training

Adam, learning rate {fig['lr']} with cosine decay, batch {fig['batch']}, {fig['epochs']}
epochs, cross-entropy loss; PyTorch {torch.__version__} on one CPU thread with deterministic
algorithms.

## Validation (synthetic validation set)

Accuracy: **{fig['val_accuracy'] * 100:.2f} %** ({fig['val_size']} slices).

| true \\ predicted | normal | nodule | effusion |
|---|---|---|---|
{rows}

These figures describe the synthetic task only and do not transfer to real images.

{PREPROCESSING_MD}
{REFERENCE_MD.format(n_in=2, in_shape="[2, 1, 128, 128]", out_shape="[2, 3]",
                     hu_shape="[128, 128]", hu_axes="rows, columns; a nodule phantom",
                     hu_out_shape="[1, 3]")}"""


def segmenter_card(fig, params, size, sha):
    return f"""# Model card: demo-lung-segmenter (version 1)

{NOT_CLINICAL}

## What it is

A small 2D U-Net that labels each pixel of one synthetic 128x128 axial chest CT slice as
background (0), lung (1) or nodule (2). It exists so that Cloister's diagnostic provider
(cloister-infer) has a real, reproducible segmentation model to serve, test and benchmark.

- File: `model.onnx` ({size} bytes, SHA-256 `{sha}`), ONNX opset {OPSET}, {params} parameters.
- Input `image`: FP32 [N, 1, 128, 128] (N dynamic; the server batches up to 8).
- Output `logits`: FP32 [N, 3, 128, 128], per-pixel class scores; take the argmax over axis 1.
- Labels: 0 `background`, 1 `lung` (aerated lung, vessels included), 2 `nodule`.

## Architecture

U-Net with two down-sampling levels: encoder blocks of two Conv 3x3 + BatchNorm + ReLU at
8, 16 and 32 channels with MaxPool 2x2 between them; decoder with ConvTranspose 2x2 stride 2
up-sampling, skip connections by Concat, one Conv + BatchNorm + ReLU per level; a 1x1 Conv
head with 3 outputs. Exported graph operators: Conv (batch norm folded in), Relu, MaxPool,
ConvTranspose, Concat.

## Training data (synthetic)

The same generator as demo-chest-classifier (`models/make-demo-models.py`, fixed seeds):
half nodule phantoms, a quarter normal, a quarter effusion. Label maps come from the
generator's masks before blur and noise: lung = lung ellipses minus heart and spine, minus
fluid (effusion fluid is background, i.e. not aerated lung), minus nodules; nodule = lesion
pixels inside the lungs. {fig['train_size']} training slices, {fig['val_size']} validation
slices (separate seed).

## Training

Adam, learning rate {fig['lr']} with cosine decay, batch {fig['batch']}, {fig['epochs']}
epochs, loss = cross-entropy + (1 - mean soft Dice of lung and nodule); PyTorch
{torch.__version__} on one CPU thread with deterministic algorithms.

## Validation (synthetic validation set)

Dice pooled over all {fig['val_size']} validation slices:

| class | Dice |
|---|---|
| lung | **{fig['dice_lung']:.4f}** |
| nodule | **{fig['dice_nodule']:.4f}** |

Mean per-image nodule Dice over the nodule slices: {fig['dice_nodule_mean_per_image']:.4f};
pixel accuracy: {fig['pixel_accuracy']:.4f}. These figures describe the synthetic task only and
do not transfer to real images.

{PREPROCESSING_MD}
{REFERENCE_MD.format(n_in=2, in_shape="[2, 1, 128, 128]", out_shape="[2, 3, 128, 128]",
                     hu_shape="[128, 128]", hu_axes="rows, columns; a nodule phantom",
                     hu_out_shape="[1, 3, 128, 128]")}"""


def tiny3d_card(fig, params, size, sha):
    return f"""# Model card: tiny-seg3d (version 1)

{NOT_CLINICAL}

## What it is

A tiny 3D segmenter used only by Cloister's tests of the 3D inference path (Conv3d, 5D
tensors). It is deliberately minimal and is not meant to be good.

- File: `model.onnx` ({size} bytes, SHA-256 `{sha}`), ONNX opset {OPSET}, {params} parameters.
- Input `volume`: FP32 [1, 1, 16, 32, 32] (N, C, D, H, W).
- Output `logits`: FP32 [1, 2, 16, 32, 32]; take the argmax over axis 1.
- Labels: 0 `background`, 1 `lesion`.

## Architecture

Conv3d 3x3x3 (1 -> 4) + ReLU, Conv3d 3x3x3 (4 -> 4) + ReLU, Conv3d 1x1x1 (4 -> 2).

## Training data (synthetic)

16x32x32 volumes of lung-like parenchyma (-850..-750 HU) with 1-2 ellipsoidal lesions
(20..80 HU) and Gaussian noise (sigma 10 HU), generated by `models/make-demo-models.py`.
{fig['train_size']} training volumes, {fig['val_size']} validation volumes.

## Training

Adam, learning rate {fig['lr']}, {fig['steps']} steps of batch {fig['batch']},
class-weighted cross-entropy (lesion weight 5).

## Validation

Lesion Dice on the synthetic validation volumes: {fig['dice_lesion']:.4f}.

{PREPROCESSING_MD}
{REFERENCE_MD.format(n_in=1, in_shape="[1, 1, 16, 32, 32]", out_shape="[1, 2, 16, 32, 32]",
                     hu_shape="[16, 32, 32]", hu_axes="depth, rows, columns",
                     hu_out_shape="[1, 2, 16, 32, 32]")}"""


def readme(cls_fig, seg_fig, t3_fig, sums):
    return f"""# Demonstration models

{NOT_CLINICAL}

These are Cloister's own small demonstration models for the diagnostic provider
(cloister-infer). They are trained from scratch on synthetic chest CT phantoms made by
`make-demo-models.py`, so the repository needs no external data or weights.

| model | folder | task | validation (synthetic) |
|---|---|---|---|
| demo-chest-classifier | `models/demo-chest-classifier/` | normal / nodule / effusion, [N,1,128,128] -> [N,3] | accuracy {cls_fig['val_accuracy'] * 100:.2f} % |
| demo-lung-segmenter | `models/demo-lung-segmenter/` | background / lung / nodule, [N,1,128,128] -> [N,3,128,128] | Dice lung {seg_fig['dice_lung']:.4f}, nodule {seg_fig['dice_nodule']:.4f} |
| tiny-seg3d | `tests/data/models/tiny-seg3d/` | background / lesion, [1,1,16,32,32] -> [1,2,16,32,32]; tests of the 3D path only | Dice lesion {t3_fig['dice_lesion']:.4f} |

Each folder holds `model.onnx`, `manifest.json` (name, version, SHA-256, inputs/outputs, labels,
preprocessing, postprocessing, batching), `MODEL_CARD.md` and reference tensors for tests
(`reference_input.npy` / `reference_output.npy`: preprocessed inputs and the PyTorch outputs;
`reference_hu.npy` / `reference_hu_output.npy`: one raw HU phantom and the PyTorch output after
the manifest's preprocessing). `samples/` holds two 8-bit grayscale PNG renderings (lung window)
of a nodule phantom and a normal phantom, 128x128, for the server's tests (pixel =
round(255 * y), y the lung-window value defined below).

Preprocessing (all three models): HU -> lung window with the DICOM linear VOI formula,
centre -600, width 1500: `clamp((v - (c - 0.5)) / (w - 1) + 0.5, 0, 1)`, then `(x - 0.5) / 0.25`.

## Regenerate

From the repository root, with Debian's python3, python3-torch (1.13) and python3-numpy, CPU
only (about 3 minutes of CPU time on one thread):

```
/usr/bin/python3 models/make-demo-models.py           # rewrite the files in place
/usr/bin/python3 models/make-demo-models.py --check   # regenerate into a temporary directory and
                                                      # compare SHA-256 with these files (exit 1 on a difference)
sha256sum -c models/SHA256SUMS                        # verify the committed models
```

Seeds are fixed and training runs on one thread with deterministic algorithms, so two runs give
byte-identical files on the same machine and PyTorch build. Another CPU type or PyTorch build
may round differently and so produce different weights; `--check` reports that as a difference.

## SHA-256 of the models

```
{sums}```
"""


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def generate(models_dir, tiny3d_dir, log):
    """Train, export and write every file; returns {absolute path: bytes}."""
    files = {}   # absolute path -> bytes

    def put(path, data):
        files[path] = data.encode("utf-8") if isinstance(data, str) else data

    def npy(array):
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
        return buf.getvalue()

    ref_rng = np.random.Generator(np.random.PCG64(71))
    ref_2d_hu, _ = zip(*[chest_phantom(ref_rng, k) for k in (1, 2, 1, 0)])
    # classifier reference batch: nodule + effusion; segmenter: nodule + normal
    ref_hu_slice = ref_2d_hu[2]                         # one raw nodule phantom (HU)

    sums = []

    # 1. classifier
    t0 = time.process_time()
    cls, cls_fig = train_classifier(log)
    log(f"classifier: val accuracy {cls_fig['val_accuracy']:.4f} "
        f"({time.process_time() - t0:.1f} s CPU)")
    d = os.path.join(models_dir, "demo-chest-classifier")
    onnx_bytes = export_onnx(cls, torch.zeros(1, 1, SIZE, SIZE), "image", True)
    sha = sha256_bytes(onnx_bytes)
    put(os.path.join(d, "model.onnx"), onnx_bytes)
    put(os.path.join(d, "manifest.json"), manifest(
        "demo-chest-classifier", sha, "classification",
        "Classifies a synthetic 128x128 axial chest CT slice as normal, nodule or effusion.",
        "image", [-1, 1, SIZE, SIZE], [-1, 3], CLASS_LABELS, "softmax", 8))
    put(os.path.join(d, "MODEL_CARD.md"), classifier_card(cls_fig, count_params(cls),
                                                          len(onnx_bytes), sha))
    ref_in = preprocess(np.stack([ref_2d_hu[0], ref_2d_hu[1]]))[:, None]
    put(os.path.join(d, "reference_input.npy"), npy(ref_in))
    put(os.path.join(d, "reference_output.npy"), npy(torch_out(cls, ref_in)))
    put(os.path.join(d, "reference_hu.npy"), npy(ref_hu_slice))
    put(os.path.join(d, "reference_hu_output.npy"),
        npy(torch_out(cls, preprocess(ref_hu_slice)[None, None])))
    sums.append((sha, f"{MODELS_REL}/demo-chest-classifier/model.onnx"))

    # 2. segmenter
    t0 = time.process_time()
    seg, seg_fig = train_segmenter(log)
    log(f"segmenter: val Dice lung {seg_fig['dice_lung']:.4f} nodule {seg_fig['dice_nodule']:.4f} "
        f"({time.process_time() - t0:.1f} s CPU)")
    d = os.path.join(models_dir, "demo-lung-segmenter")
    onnx_bytes = export_onnx(seg, torch.zeros(1, 1, SIZE, SIZE), "image", True)
    sha = sha256_bytes(onnx_bytes)
    put(os.path.join(d, "model.onnx"), onnx_bytes)
    put(os.path.join(d, "manifest.json"), manifest(
        "demo-lung-segmenter", sha, "segmentation-2d",
        "Segments background, lung and nodule pixels in a synthetic 128x128 axial chest CT slice.",
        "image", [-1, 1, SIZE, SIZE], [-1, 3, SIZE, SIZE], SEG_LABELS, "argmax", 8))
    put(os.path.join(d, "MODEL_CARD.md"), segmenter_card(seg_fig, count_params(seg),
                                                         len(onnx_bytes), sha))
    ref_in = preprocess(np.stack([ref_2d_hu[0], ref_2d_hu[3]]))[:, None]
    put(os.path.join(d, "reference_input.npy"), npy(ref_in))
    put(os.path.join(d, "reference_output.npy"), npy(torch_out(seg, ref_in)))
    put(os.path.join(d, "reference_hu.npy"), npy(ref_hu_slice))
    put(os.path.join(d, "reference_hu_output.npy"),
        npy(torch_out(seg, preprocess(ref_hu_slice)[None, None])))
    sums.append((sha, f"{MODELS_REL}/demo-lung-segmenter/model.onnx"))

    # 3. tiny 3D segmenter (tests only)
    t0 = time.process_time()
    t3, t3_fig = train_tiny3d(log)
    log(f"tiny-seg3d: ({time.process_time() - t0:.1f} s CPU)")
    d = tiny3d_dir
    onnx_bytes = export_onnx(t3, torch.zeros(1, 1, *VOL_SHAPE), "volume", False)
    sha = sha256_bytes(onnx_bytes)
    put(os.path.join(d, "model.onnx"), onnx_bytes)
    put(os.path.join(d, "manifest.json"), manifest(
        "tiny-seg3d", sha, "segmentation-3d",
        "Tiny 3D background/lesion segmenter on synthetic 16x32x32 volumes, for tests of the 3D path.",
        "volume", [1, 1, *VOL_SHAPE], [1, 2, *VOL_SHAPE], SEG3D_LABELS, "argmax", 1))
    put(os.path.join(d, "MODEL_CARD.md"), tiny3d_card(t3_fig, count_params(t3),
                                                      len(onnx_bytes), sha))
    vol_rng = np.random.Generator(np.random.PCG64(81))
    ref_vol, _ = blob_volume(vol_rng)
    ref_vol_hu, _ = blob_volume(vol_rng)
    ref_in = preprocess(ref_vol)[None, None]
    put(os.path.join(d, "reference_input.npy"), npy(ref_in))
    put(os.path.join(d, "reference_output.npy"), npy(torch_out(t3, ref_in)))
    put(os.path.join(d, "reference_hu.npy"), npy(ref_vol_hu))
    put(os.path.join(d, "reference_hu_output.npy"),
        npy(torch_out(t3, preprocess(ref_vol_hu)[None, None])))
    sums.append((sha, f"{TINY3D_REL.replace(os.sep, '/')}/model.onnx"))

    # samples, SHA256SUMS, README
    sample_rng = np.random.Generator(np.random.PCG64(91))
    nodule_hu, _ = chest_phantom(sample_rng, 1)
    normal_hu, _ = chest_phantom(sample_rng, 0)
    put(os.path.join(models_dir, "samples", "nodule.png"), png_gray8(window_u8(nodule_hu)))
    put(os.path.join(models_dir, "samples", "normal.png"), png_gray8(window_u8(normal_hu)))
    sums_text = "".join(f"{s}  {p}\n" for s, p in sums)
    put(os.path.join(models_dir, "SHA256SUMS"), sums_text)
    put(os.path.join(models_dir, "README.md"), readme(cls_fig, seg_fig, t3_fig, sums_text))

    for path, data in files.items():
        write_bytes(path, data)
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, MODELS_REL),
                        help="output directory for the demo models (default: models/)")
    parser.add_argument("--tests-out", default=os.path.join(REPO_ROOT, TINY3D_REL),
                        help="output directory for tiny-seg3d (default: tests/data/models/tiny-seg3d/)")
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temporary directory and compare SHA-256 with the "
                             "files in --out / --tests-out; exit 1 on a difference")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    start_cpu, start_wall = time.process_time(), time.time()

    def log(msg):
        print(f"[{time.time() - start_wall:6.1f}s] {msg}", flush=True)

    if not args.check:
        generate(os.path.abspath(args.out), os.path.abspath(args.tests_out), log)
        log(f"done: {time.process_time() - start_cpu:.1f} s CPU")
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        tmp_models, tmp_tests = os.path.join(tmp, "models"), os.path.join(tmp, "tiny-seg3d")
        files = generate(tmp_models, tmp_tests, log)
        bad = 0
        for path in sorted(files):
            if path.startswith(tmp_models + os.sep):
                rel = os.path.relpath(path, tmp_models)
                target = os.path.join(os.path.abspath(args.out), rel)
            else:
                rel = os.path.relpath(path, tmp_tests)
                target = os.path.join(os.path.abspath(args.tests_out), rel)
            want = sha256_bytes(files[path])
            try:
                with open(target, "rb") as f:
                    have = sha256_bytes(f.read())
            except OSError:
                have = "missing"
            if have != want:
                bad += 1
                print(f"DIFFERS {target}: committed {have}, regenerated {want}")
        log(f"check: {len(files) - bad} of {len(files)} files identical "
            f"({time.process_time() - start_cpu:.1f} s CPU)")
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
