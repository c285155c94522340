#!/usr/bin/python3
"""libs/engine side by side with ONNX Runtime (npm onnxruntime-node) — ratios measured in one run.

    /usr/bin/python3 bench/engine/bench.py [--models DIR] [--cloister build/bin/cloister]
        [--threads 1,2] [--rounds 3] [--runs 20] [--agree-only] [model ...]

1. Agreement: each model runs once in both engines on the same input (DIR/<model>.input.npy);
   the outputs must agree within 1e-4 relative (max |ours - ort| / max |ort|).
2. Performance (resnet50, densenet121, unet2d, unet3d by default): for every thread count, rounds
   alternate `cloister engine bench` and `node ort_bench.mjs` (separate processes, same input,
   warm-up, then --runs timed runs each); the best median of each side is kept. Printed: the ratio
   ours / ORT (median and min), each process's peak RSS, and our achieved GFLOP/s (convolution
   and matmul FLOPs / median time) as a fraction of the FMA peak measured here (fma_peak.cpp).
Targets (issue 4): ratio <= 1.0 resnet50, <= 0.8 densenet121 and unet2d, <= 0.35 unet3d, at 1 and 2
threads, and RSS no higher than ORT's. Never part of the tests: timings depend on the machine.
Models: bench/engine/export_models.py (run automatically when a model is missing).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PERF_MODELS = ['resnet50', 'densenet121', 'unet2d', 'unet3d']
AGREE_MODELS = PERF_MODELS + ['mobilenet_v2', 'mobilenet_v3_large', 'efficientnet_b0', 'squeezenet1_1',
                              'shufflenet_v2_x1_0', 'convnext_tiny']
TARGETS = {'resnet50': 1.0, 'densenet121': 0.8, 'unet2d': 0.8, 'unet3d': 0.35}


def json_line(output):
    lines = [line for line in output.splitlines() if line.startswith('{')]
    return json.loads(lines[-1])


def run(command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f'{" ".join(command)} failed:\n{result.stdout}\n{result.stderr}')
    return result.stdout


def environment(threads):
    env = dict(os.environ)
    env['OMP_NUM_THREADS'] = str(threads)
    return env


def fma_peak(threads):
    binary = os.path.join(tempfile.gettempdir(), 'cloister_fma_peak')
    if not os.path.exists(binary):
        run(['g++', '-O2', '-march=native', '-fopenmp', os.path.join(HERE, 'fma_peak.cpp'), '-o', binary])
    return json_line(run([binary, str(threads)]))['gflops']


def agree(args, model, work):
    path = os.path.join(args.models, model + '.onnx')
    x = os.path.join(args.models, model + '.input.npy')
    ours_dir, ort_dir = os.path.join(work, model, 'ours'), os.path.join(work, model, 'ort')
    run([args.cloister, 'engine', 'run', '--model', path, '--input', f'input={x}', '--output-dir', ours_dir, '--threads', '1'],
        environment(1))
    run(['node', os.path.join(HERE, 'ort_bench.mjs'), '--model', path, '--input', x, '--threads', '1', '--save', ort_dir])
    worst = 0.0
    for name in sorted(os.listdir(ort_dir)):
        ours, ort = np.load(os.path.join(ours_dir, name)), np.load(os.path.join(ort_dir, name))
        if ours.shape != ort.shape:
            raise SystemExit(f'{model}: {name} shape {ours.shape} vs ORT {ort.shape}')
        worst = max(worst, float(np.max(np.abs(ours - ort)) / max(float(np.max(np.abs(ort))), 1e-30)))
    return worst


def perf(args, model, threads):
    path = os.path.join(args.models, model + '.onnx')
    x = os.path.join(args.models, model + '.input.npy')
    ours, ort = [], []
    for _ in range(args.rounds):
        ours.append(json_line(run([args.cloister, 'engine', 'bench', '--model', path, '--input', f'input={x}',
                                   '--threads', str(threads), '--runs', str(args.runs)], environment(threads))))
        ort.append(json_line(run(['node', os.path.join(HERE, 'ort_bench.mjs'), '--model', path, '--input', x,
                                  '--threads', str(threads), '--runs', str(args.runs)], environment(threads))))
    best_ours = min(ours, key=lambda r: r['median_ms'])
    best_ort = min(ort, key=lambda r: r['median_ms'])
    return {
        'model': model, 'threads': threads,
        'ours_median_ms': best_ours['median_ms'], 'ort_median_ms': best_ort['median_ms'],
        'ours_min_ms': min(r['min_ms'] for r in ours), 'ort_min_ms': min(r['min_ms'] for r in ort),
        'ratio_median': best_ours['median_ms'] / best_ort['median_ms'],
        'ratio_min': min(r['min_ms'] for r in ours) / min(r['min_ms'] for r in ort),
        'ours_rss_mb': min(r['peak_rss_kb'] for r in ours) / 1024, 'ort_rss_mb': min(r['peak_rss_kb'] for r in ort) / 1024,
        'gflops': best_ours['gflops'], 'target': TARGETS.get(model),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--models', default=os.path.join(ROOT, 'build-bench', 'models'))
    parser.add_argument('--cloister', default=os.path.join(ROOT, 'build', 'bin', 'cloister'))
    parser.add_argument('--threads', default='1,2')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--agree-only', action='store_true')
    parser.add_argument('--perf-only', action='store_true')
    parser.add_argument('--check', action='store_true',
                        help='exit 1 unless every model agrees within 1e-4 (the engine_ort_agreement test)')
    parser.add_argument('names', nargs='*')
    args = parser.parse_args()
    if not os.path.isdir(os.path.join(HERE, 'node_modules', 'onnxruntime-node')):
        run(['npm', 'ci', '--no-audit', '--no-fund', '--prefix', HERE], dict(os.environ, ONNXRUNTIME_NODE_INSTALL='skip'))
    names = args.names or (PERF_MODELS if args.perf_only else AGREE_MODELS)
    missing = [n for n in names if not os.path.exists(os.path.join(args.models, n + '.onnx'))]
    if missing:
        run([sys.executable, os.path.join(HERE, 'export_models.py'), args.models] + missing)
    load = os.getloadavg()[0]
    print(f'# load average {load:.1f} on {os.cpu_count()} CPUs', flush=True)

    if not args.perf_only:
        disagreeing = []
        with tempfile.TemporaryDirectory() as work:
            for model in names:
                error = agree(args, model, work)
                print(json.dumps({'agreement': model, 'max_rel_error': error, 'ok': error <= 1e-4}), flush=True)
                if not error <= 1e-4:
                    disagreeing.append(model)
        print(f'# agreement with ONNX Runtime: {len(names) - len(disagreeing)} of {len(names)} models within 1e-4'
              + (f"; disagreeing: {', '.join(disagreeing)}" if disagreeing else ''), flush=True)
        if args.check and disagreeing:
            sys.exit(1)
    if args.agree_only:
        return
    rows = []
    for threads in [int(t) for t in args.threads.split(',')]:
        peak = max(fma_peak(threads) for _ in range(3))
        print(json.dumps({'fma_peak_gflops': peak, 'threads': threads}), flush=True)
        for model in [n for n in names if n in PERF_MODELS or args.names]:
            row = perf(args, model, threads)
            row['fraction_of_peak'] = row['gflops'] / peak
            rows.append(row)
            print(json.dumps(row), flush=True)
    print('\n| model | threads | ours ms | ORT ms | ratio (target) | ours RSS MB | ORT RSS MB | ours GFLOP/s | of FMA peak |')
    print('|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        target = f" (≤ {r['target']})" if r['target'] else ''
        print(f"| {r['model']} | {r['threads']} | {r['ours_median_ms']:.1f} | {r['ort_median_ms']:.1f} | "
              f"{r['ratio_median']:.2f}{target} | {r['ours_rss_mb']:.0f} | {r['ort_rss_mb']:.0f} | {r['gflops']:.0f} | "
              f"{r['fraction_of_peak']:.0%} |")
    print(f'# load average {os.getloadavg()[0]:.1f} at the end')


if __name__ == '__main__':
    main()
