// ONNX Runtime side of bench/engine: times a model or saves its outputs (.npy) for comparison.
//   node ort_bench.mjs --model M.onnx --input X.npy --threads N --runs K [--warmup W]
//   node ort_bench.mjs --model M.onnx --input X.npy --threads N --save DIR
// Prints one JSON line: {"median_ms","min_ms","runs","threads","peak_rss_kb","load_ms"}.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

function argument(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function readNpy(file) {
  const buffer = fs.readFileSync(file);
  const headerLength = buffer.readUInt16LE(8);
  const header = buffer.subarray(10, 10 + headerLength).toString('latin1');
  if (!header.includes("'<f4'")) throw new Error(`${file}: only float32 .npy inputs`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const bytes = buffer.subarray(10 + headerLength);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return { shape, data };
}

function writeNpy(file, tensor) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${tensor.dims.join(', ')}${tensor.dims.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(prefix);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]));
}

const model = argument('--model');
const threads = Number(argument('--threads', '1'));
const runs = Number(argument('--runs', '20'));
const warmup = Number(argument('--warmup', '3'));
const save = argument('--save');
const input = readNpy(argument('--input'));

const loadStart = performance.now();
const session = await ort.InferenceSession.create(model, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
const loadMs = performance.now() - loadStart;
const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input.data, input.shape) };

if (save) {
  const outputs = await session.run(feeds);
  fs.mkdirSync(save, { recursive: true });
  for (const name of session.outputNames) writeNpy(path.join(save, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`), outputs[name]);
} else {
  for (let i = 0; i < warmup; ++i) await session.run(feeds);
  const times = [];
  for (let i = 0; i < runs; ++i) {
    const start = performance.now();
    await session.run(feeds);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const median = times.length % 2 ? times[(times.length - 1) / 2] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
  console.log(JSON.stringify({ model, threads, runs, median_ms: median, min_ms: times[0], load_ms: loadMs,
                               peak_rss_kb: process.resourceUsage().maxRSS }));
}
