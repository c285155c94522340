#!/usr/bin/python3
"""Exports the benchmark and agreement models to ONNX with random weights (Debian python3-torch,
python3-torchvision), plus one random input per model (input.npy next to each model).

    /usr/bin/python3 bench/engine/export_models.py [--dynamic-batch] OUT_DIR [name ...]

--dynamic-batch exports the first dimension of input and output as dynamic ("N"), so a server can
batch requests (bench/infer); without it every shape is static.

Perf set (bench/engine/run.sh compares these with ONNX Runtime): resnet50, densenet121,
unet2d (256x256, 1 -> 2 classes, 5 levels from 16 channels, BatchNorm + ReLU, transposed-conv
decoder), unet3d (64^3, nnU-Net's 3D full-resolution design: 4 levels from 32 channels,
InstanceNorm + LeakyReLU, transposed-conv decoder). Agreement set: the perf set plus mobilenet_v2, mobilenet_v3_large,
efficientnet_b0, squeezenet1_1, shufflenet_v2_x1_0, convnext_tiny.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision


class DoubleConv(nn.Module):
    def __init__(self, dims, cin, cout, norm, act):
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
        self.block = nn.Sequential(conv(cin, cout, 3, padding=1, bias=False), norm(cout), act(),
                                   conv(cout, cout, 3, padding=1, bias=False), norm(cout), act())

    def forward(self, x):
        return self.block(x)


class UNet(nn.Module):
    """A U-Net: `levels` resolutions, channels doubling per level, skip connections by concat."""

    def __init__(self, dims, cin, classes, base, levels, norm, act):
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
        up = nn.ConvTranspose2d if dims == 2 else nn.ConvTranspose3d
        self.pool = nn.MaxPool2d(2) if dims == 2 else nn.MaxPool3d(2)
        widths = [base * 2 ** i for i in range(levels)]
        self.down = nn.ModuleList()
        c = cin
        for w in widths:
            self.down.append(DoubleConv(dims, c, w, norm, act))
            c = w
        self.ups = nn.ModuleList()
        self.decode = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.ups.append(up(c, w, 2, stride=2))
            self.decode.append(DoubleConv(dims, 2 * w, w, norm, act))
            c = w
        self.head = conv(c, classes, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < len(self.down) - 1:
                skips.append(x)
                x = self.pool(x)
        for up, block, skip in zip(self.ups, self.decode, reversed(skips)):
            x = block(torch.cat([up(x), skip], dim=1))
        return self.head(x)


def randomize_norms(model):
    # Random running statistics / affine parameters, so batch norm folding is really exercised.
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d, nn.InstanceNorm2d, nn.InstanceNorm3d)) and m.affine:
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def build(name):
    tv = torchvision.models
    if name == 'resnet50':
        return tv.resnet50(), (1, 3, 224, 224)
    if name == 'densenet121':
        return tv.densenet121(), (1, 3, 224, 224)
    if name == 'mobilenet_v2':
        return tv.mobilenet_v2(), (1, 3, 224, 224)
    if name == 'mobilenet_v3_large':
        return tv.mobilenet_v3_large(), (1, 3, 224, 224)
    if name == 'efficientnet_b0':
        return tv.efficientnet_b0(), (1, 3, 224, 224)
    if name == 'squeezenet1_1':
        return tv.squeezenet1_1(), (1, 3, 224, 224)
    if name == 'shufflenet_v2_x1_0':
        return tv.shufflenet_v2_x1_0(), (1, 3, 224, 224)
    if name == 'convnext_tiny':
        return tv.convnext_tiny(), (1, 3, 224, 224)
    if name == 'unet2d':
        return UNet(2, 1, 2, 16, 5, nn.BatchNorm2d, lambda: nn.ReLU(inplace=True)), (1, 1, 256, 256)
    if name == 'unet3d':
        norm = lambda c: nn.InstanceNorm3d(c, affine=True)
        return UNet(3, 1, 2, 32, 4, norm, lambda: nn.LeakyReLU(0.01, inplace=True)), (1, 1, 64, 64, 64)
    raise SystemExit(f'unknown model {name}')


ALL = ['resnet50', 'densenet121', 'unet2d', 'unet3d', 'mobilenet_v2', 'mobilenet_v3_large', 'efficientnet_b0',
       'squeezenet1_1', 'shufflenet_v2_x1_0', 'convnext_tiny']


def main():
    args = sys.argv[1:]
    dynamic = '--dynamic-batch' in args
    args = [a for a in args if a != '--dynamic-batch']
    out = args[0]
    names = args[1:] or ALL
    os.makedirs(out, exist_ok=True)
    for name in names:
        path = os.path.join(out, name + '.onnx')
        if os.path.exists(path):
            continue
        torch.manual_seed(0)
        model, shape = build(name)
        randomize_norms(model)
        model.eval()
        x = torch.from_numpy(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
        with torch.no_grad():
            torch.onnx.export(model, x, path, opset_version=13, input_names=['input'], output_names=['output'],
                              do_constant_folding=True,
                              dynamic_axes={'input': {0: 'N'}, 'output': {0: 'N'}} if dynamic else None)
        np.save(os.path.join(out, name + '.input.npy'), x.numpy())
        print(f'exported {name} {tuple(shape)}', flush=True)


if __name__ == '__main__':
    main()
