// The study image: DICOM decoded with dicom-parser and drawn on a <canvas> with window/level
// (modality values = stored × RescaleSlope + RescaleIntercept; DICOM's linear VOI function), PNG and
// JPEG drawn as they are; a segmentation mask (label indices at the source size) overlaid.
import dicomParser from 'dicom-parser';
import { badge, h, svg } from './dom.js';

// Transfer syntaxes whose pixel data the browser reads directly.
const kUncompressed = new Map([
  ['1.2.840.10008.1.2', { little: true, name: 'Implicit VR Little Endian' }],
  ['1.2.840.10008.1.2.1', { little: true, name: 'Explicit VR Little Endian' }],
  ['1.2.840.10008.1.2.2', { little: false, name: 'Explicit VR Big Endian' }],
]);
const kCompressedNames = new Map([
  ['1.2.840.10008.1.2.1.99', 'Deflated Explicit VR Little Endian'],
  ['1.2.840.10008.1.2.4.50', 'JPEG Baseline'],
  ['1.2.840.10008.1.2.4.51', 'JPEG Extended'],
  ['1.2.840.10008.1.2.4.57', 'JPEG Lossless'],
  ['1.2.840.10008.1.2.4.70', 'JPEG Lossless SV1'],
  ['1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless'],
  ['1.2.840.10008.1.2.4.81', 'JPEG-LS Near-lossless'],
  ['1.2.840.10008.1.2.4.90', 'JPEG 2000 Lossless'],
  ['1.2.840.10008.1.2.4.91', 'JPEG 2000'],
  ['1.2.840.10008.1.2.5', 'RLE Lossless'],
]);

// Window presets in Hounsfield units (meaningful for CT).
export const kPresets = [
  { id: 'lung', label: 'Lung', center: -600, width: 1500 },
  { id: 'soft', label: 'Soft tissue', center: 40, width: 400 },
  { id: 'bone', label: 'Bone', center: 400, width: 1800 },
  { id: 'brain', label: 'Brain', center: 40, width: 80 },
];

// Label colours for masks (RGB); index 0 (background) is never drawn.
const kLabelColours = [
  [0, 0, 0],
  [0, 200, 255],
  [255, 59, 48],
  [255, 214, 10],
  [52, 199, 89],
  [191, 90, 242],
  [255, 149, 0],
  [255, 55, 170],
  [100, 210, 255],
];

export function labelColour(index) {
  if (index <= 0) return [0, 0, 0];
  return kLabelColours[((index - 1) % (kLabelColours.length - 1)) + 1];
}

function cssColour([r, g, b]) {
  return `rgb(${r}, ${g}, ${b})`;
}

function numbers(dataSet, tag) {
  const text = dataSet.string(tag);
  if (!text) return [];
  return text
    .split('\\')
    .map((v) => Number.parseFloat(v))
    .filter((v) => Number.isFinite(v));
}

function reason(error) {
  if (typeof error === 'string') return error;
  return error?.exception ?? error?.message ?? 'malformed data';
}

// The transfer syntax named in the file meta information, read without parsing the data set (a
// deflated data set cannot be parsed here).
function metaTransferSyntax(bytes) {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(bytes.length, 1024)));
  return [...kCompressedNames.keys()].sort((a, b) => b.length - a.length).find((uid) => head.includes(uid)) ?? null;
}

function parse(bytes) {
  try {
    return dicomParser.parseDicom(bytes);
  } catch (first) {
    const compressed = metaTransferSyntax(bytes);
    if (compressed) throw new Error(`UNSUPPORTED:${compressed}`);
    // A data set without the Part 10 preamble: read it as Implicit VR Little Endian.
    try {
      return dicomParser.parseDicom(bytes, { TransferSyntaxUID: '1.2.840.10008.1.2' });
    } catch {
      throw new Error(reason(first));
    }
  }
}

function unsupportedSyntax(syntax) {
  const name = kCompressedNames.get(syntax) ?? 'a compressed transfer syntax';
  return {
    ok: false,
    reason: `The image is encoded with ${name} (${syntax}); this viewer renders uncompressed DICOM only. The diagnosis below is unaffected.`,
  };
}

// YCbCr (full range, ITU-R BT.601) to RGB, in place.
function ybrToRgb(rgba) {
  for (let i = 0; i < rgba.length; i += 4) {
    const y = rgba[i];
    const cb = rgba[i + 1] - 128;
    const cr = rgba[i + 2] - 128;
    rgba[i] = y + 1.402 * cr;
    rgba[i + 1] = y - 0.344136 * cb - 0.714136 * cr;
    rgba[i + 2] = y + 1.772 * cb;
  }
}

// → {ok: true, kind: 'gray'|'rgb', rows, columns, frames, frame, values (Float32Array, modality units)
//    or rgba (Uint8ClampedArray), min, max, windows, photometric, modality, transferSyntax}
//   or {ok: false, reason}
export function decodeDicom(bytes) {
  let dataSet;
  try {
    dataSet = parse(bytes);
  } catch (error) {
    if (error.message.startsWith('UNSUPPORTED:')) return unsupportedSyntax(error.message.slice('UNSUPPORTED:'.length));
    return { ok: false, reason: `The file could not be read as DICOM: ${error.message}` };
  }
  const syntax = dataSet.string('x00020010')?.trim() || '1.2.840.10008.1.2';
  const pixel = dataSet.elements.x7fe00010;
  if (!pixel) return { ok: false, reason: 'This DICOM object has no pixel data.' };
  const layout = kUncompressed.get(syntax);
  if (!layout || pixel.encapsulatedPixelData) return unsupportedSyntax(syntax);
  const rows = dataSet.uint16('x00280010') ?? 0;
  const columns = dataSet.uint16('x00280011') ?? 0;
  const samples = dataSet.uint16('x00280002') ?? 1;
  const bitsAllocated = dataSet.uint16('x00280100') ?? 16;
  const bitsStored = dataSet.uint16('x00280101') ?? bitsAllocated;
  const signed = (dataSet.uint16('x00280103') ?? 0) === 1;
  const planar = (dataSet.uint16('x00280006') ?? 0) === 1;
  const photometric = (dataSet.string('x00280004') ?? 'MONOCHROME2').trim();
  const frames = Math.max(1, Number.parseInt(dataSet.string('x00280008') ?? '1', 10) || 1);
  const slope = dataSet.floatString('x00281053') ?? 1;
  const intercept = dataSet.floatString('x00281052') ?? 0;
  const modality = dataSet.string('x00080060')?.trim() ?? '';
  if (!['MONOCHROME1', 'MONOCHROME2', 'RGB', 'YBR_FULL'].includes(photometric)) {
    return { ok: false, reason: `Photometric interpretation ${photometric} is not supported by this viewer. The diagnosis below is unaffected.` };
  }
  if (rows <= 0 || columns <= 0) return { ok: false, reason: 'The DICOM object has no image size (Rows/Columns).' };
  if (![8, 16, 32].includes(bitsAllocated)) return { ok: false, reason: `Bits Allocated ${bitsAllocated} is not supported by this viewer.` };
  const bytesPerSample = bitsAllocated / 8;
  const frameBytes = rows * columns * samples * bytesPerSample;
  const frame = Math.floor(frames / 2);
  const start = pixel.dataOffset + frame * frameBytes;
  if (start + frameBytes > bytes.byteLength || (frame + 1) * frameBytes > pixel.length) {
    return { ok: false, reason: 'The pixel data is shorter than the image size says (truncated file).' };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, frameBytes);
  const count = rows * columns;

  if (samples === 3) {
    if (bitsAllocated !== 8) return { ok: false, reason: 'Colour DICOM with more than 8 bits per sample is not supported by this viewer.' };
    const rgba = new Uint8ClampedArray(count * 4);
    for (let i = 0; i < count; i += 1) {
      for (let c = 0; c < 3; c += 1) {
        rgba[i * 4 + c] = view.getUint8(planar ? c * count + i : i * 3 + c);
      }
      rgba[i * 4 + 3] = 255;
    }
    if (photometric === 'YBR_FULL') ybrToRgb(rgba);
    return { ok: true, kind: 'rgb', rows, columns, frames, frame, rgba, photometric, modality, transferSyntax: syntax, windows: [] };
  }
  if (samples !== 1) return { ok: false, reason: `Samples per pixel ${samples} is not supported by this viewer.` };

  const values = new Float32Array(count);
  const mask = bitsStored >= 32 ? 0xffffffff : 2 ** bitsStored - 1;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < count; i += 1) {
    let raw;
    if (bitsAllocated === 8) raw = view.getUint8(i);
    else if (bitsAllocated === 16) raw = view.getUint16(i * 2, layout.little);
    else raw = view.getUint32(i * 4, layout.little);
    if (bitsStored < bitsAllocated) {
      raw &= mask;
      if (signed && raw >= 2 ** (bitsStored - 1)) raw -= 2 ** bitsStored;
    } else if (signed) {
      if (bitsAllocated === 8) raw = view.getInt8(i);
      else if (bitsAllocated === 16) raw = view.getInt16(i * 2, layout.little);
      else raw = view.getInt32(i * 4, layout.little);
    }
    const v = raw * slope + intercept;
    values[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const centers = numbers(dataSet, 'x00281050');
  const widths = numbers(dataSet, 'x00281051');
  const windows = [];
  for (let i = 0; i < Math.min(centers.length, widths.length); i += 1) {
    if (widths[i] >= 1) windows.push({ center: centers[i], width: widths[i] });
  }
  return { ok: true, kind: 'gray', rows, columns, frames, frame, values, min, max, windows, photometric, modality, transferSyntax: syntax, slope, intercept };
}

// DICOM PS3.3 C.11.2.1.2.1 linear VOI, to 0..255; MONOCHROME1 inverted.
export function renderGray(image, center, width, target) {
  const out = target ?? new Uint8ClampedArray(image.rows * image.columns * 4);
  const w = Math.max(1, width);
  const low = center - 0.5 - (w - 1) / 2;
  const high = center - 0.5 + (w - 1) / 2;
  const invert = image.photometric === 'MONOCHROME1';
  for (let i = 0; i < image.values.length; i += 1) {
    const v = image.values[i];
    let y;
    if (v <= low) y = 0;
    else if (v > high) y = 255;
    else y = ((v - (center - 0.5)) / (w - 1) + 0.5) * 255;
    if (invert) y = 255 - y;
    out[i * 4] = y;
    out[i * 4 + 1] = y;
    out[i * 4 + 2] = y;
    out[i * 4 + 3] = 255;
  }
  return out;
}

function base64Bytes(text) {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) out[i] = binary.charCodeAt(i);
  return out;
}

// The segmentation mask as {width, height, labels: Uint8Array (one index a pixel), note}.
export async function decodeMask(mask) {
  if (!mask || typeof mask !== 'object') return null;
  if (mask.encoding === 'png') {
    const blob = new Blob([base64Bytes(mask.data ?? '')], { type: 'image/png' });
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const canvas = document.createElement('canvas');
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0);
    const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
    const labels = new Uint8Array(bitmap.width * bitmap.height);
    for (let i = 0; i < labels.length; i += 1) labels[i] = rgba[i * 4];
    bitmap.close?.();
    return { width: canvas.width, height: canvas.height, labels, note: '' };
  }
  if (mask.encoding === 'rle') {
    const [depth, height, width] = mask.shape ?? [];
    if (!(depth > 0 && height > 0 && width > 0)) throw new Error('the RLE mask has no valid shape');
    const slice = Math.floor(depth / 2);
    const begin = slice * height * width;
    const end = begin + height * width;
    const labels = new Uint8Array(height * width);
    let offset = 0;
    for (const [label, length] of mask.runs ?? []) {
      const runEnd = offset + length;
      if (runEnd > begin && offset < end && label !== 0) {
        labels.fill(label, Math.max(offset, begin) - begin, Math.min(runEnd, end) - begin);
      }
      offset = runEnd;
      if (offset >= end) break;
    }
    return { width, height, labels, note: `Volume mask: slice ${slice + 1} of ${depth} (the middle slice) is shown.` };
  }
  throw new Error(`unknown mask encoding "${mask.encoding}"`);
}

function paintMask(canvas, mask, opacity) {
  const ctx = canvas.getContext('2d');
  const data = ctx.createImageData(mask.width, mask.height);
  const alpha = Math.round(Math.max(0, Math.min(1, opacity)) * 255);
  for (let i = 0; i < mask.labels.length; i += 1) {
    const label = mask.labels[i];
    if (label === 0) continue;
    const [r, g, b] = labelColour(label);
    data.data[i * 4] = r;
    data.data[i * 4 + 1] = g;
    data.data[i * 4 + 2] = b;
    data.data[i * 4 + 3] = alpha;
  }
  ctx.putImageData(data, 0, 0);
}

function numberField(id, label, { min, max, step, value }, onInput) {
  const range = h('input', { type: 'range', id: `${id}-range`, min, max, step, value, 'aria-label': `${label} (slider)` });
  const number = h('input', { type: 'number', id, min, max, step, value, class: 'num' });
  const sync = (from, to) => {
    const v = Number.parseFloat(from.value);
    if (!Number.isFinite(v)) return;
    to.value = String(v);
    onInput(v);
  };
  range.addEventListener('input', () => sync(range, number));
  number.addEventListener('input', () => sync(number, range));
  const field = h('div', { class: 'wl-field' }, h('label', { for: id }, label), h('div', { class: 'wl-inputs' }, range, number));
  return { field, set(v) { range.value = String(v); number.value = String(v); } };
}

async function drawBitmap(canvas, bytes, contentType) {
  const bitmap = await createImageBitmap(new Blob([bytes], { type: contentType }));
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext('2d').drawImage(bitmap, 0, 0);
  bitmap.close?.();
}

// Builds the viewer into `container`: the image, window/level controls (DICOM), the mask overlay
// with its toggle, opacity and legend. `segmentation` is the diagnosis's segmentation object or null.
export async function createImageViewer(container, { bytes, contentType, segmentation }) {
  const base = h('canvas', { id: 'report-canvas', class: 'image-base', role: 'img', 'aria-label': 'Study image' });
  const overlay = h('canvas', { id: 'mask-canvas', class: 'image-overlay', 'aria-hidden': 'true' });
  const stack = h('div', { class: 'image-stack' }, base, overlay);
  const notes = h('div', { class: 'image-notes' });
  const controls = h('div', { class: 'image-controls' });
  container.replaceChildren(stack, notes, controls);

  const isDicom = contentType.startsWith('application/dicom');
  let image = null;
  if (isDicom) {
    image = decodeDicom(bytes);
    if (!image.ok) {
      stack.hidden = true;
      notes.append(h('p', { id: 'image-unsupported', class: 'note' }, badge('warn', 'Not shown'), ' ', image.reason));
    } else {
      base.width = image.columns;
      base.height = image.rows;
      const ctx = base.getContext('2d');
      const pixels = ctx.createImageData(image.columns, image.rows);
      const described = [`DICOM ${image.modality || ''} ${image.columns}\u00d7${image.rows}`.replace('  ', ' ')];
      if (image.frames > 1) described.push(`frame ${image.frame + 1} of ${image.frames} (the middle one)`);
      notes.append(h('p', { class: 'note' }, described.join(', ')));
      if (image.kind === 'rgb') {
        pixels.data.set(image.rgba);
        ctx.putImageData(pixels, 0, 0);
      } else {
        const span = Math.max(1, image.max - image.min);
        const initial = image.windows[0] ?? { center: (image.max + image.min) / 2, width: span };
        const lowBound = Math.floor(Math.min(image.min, -1024));
        const highBound = Math.ceil(Math.max(image.max, 3071));
        const draw = (center, width) => {
          renderGray(image, center, width, pixels.data);
          ctx.putImageData(pixels, 0, 0);
          base.setAttribute('aria-label', `Study image, window center ${Math.round(center)}, width ${Math.round(width)}`);
        };
        let center = initial.center;
        let width = initial.width;
        const cField = numberField('wl-center', 'Window center (level)', { min: lowBound, max: highBound, step: 1, value: Math.round(center) }, (v) => {
          center = v;
          draw(center, width);
        });
        const wField = numberField('wl-width', 'Window width', { min: 1, max: highBound - lowBound, step: 1, value: Math.round(width) }, (v) => {
          width = Math.max(1, v);
          draw(center, width);
        });
        const apply = (c, w) => {
          center = c;
          width = w;
          cField.set(Math.round(c));
          wField.set(Math.round(w));
          draw(center, width);
        };
        const presets = [
          { id: 'file', label: image.windows.length ? 'From file' : 'Full range', center: initial.center, width: initial.width },
          { id: 'full', label: 'Full range', center: (image.max + image.min) / 2, width: span },
          ...kPresets,
        ].filter((p, i, all) => all.findIndex((q) => q.label === p.label) === i);
        const presetButtons = presets.map((p) =>
          h('button', { type: 'button', class: 'secondary', id: `wl-preset-${p.id}`, onclick: () => apply(p.center, p.width) }, p.label),
        );
        controls.append(
          h('fieldset', { class: 'wl' }, h('legend', {}, 'Window / level'), cField.field, wField.field,
            h('div', { class: 'wl-presets', role: 'group', 'aria-label': 'Window presets' }, presetButtons)),
        );
        draw(center, width);
      }
    }
  } else {
    try {
      await drawBitmap(base, bytes, contentType);
      notes.append(h('p', { class: 'note' }, `${contentType === 'image/png' ? 'PNG' : 'JPEG'} image, ${base.width}\u00d7${base.height}, shown as uploaded`));
    } catch {
      stack.hidden = true;
      notes.append(h('p', { class: 'note' }, badge('warn', 'Not shown'), ' The browser could not decode this image.'));
    }
  }

  if (segmentation?.mask) {
    let mask = null;
    try {
      mask = await decodeMask(segmentation.mask);
    } catch (error) {
      notes.append(h('p', { class: 'note' }, badge('warn', 'Mask not shown'), ` ${error.message}`));
    }
    if (mask) {
      overlay.width = mask.width;
      overlay.height = mask.height;
      if (stack.hidden) {
        // No image to overlay: show the mask alone so the segmentation can still be seen.
        base.width = mask.width;
        base.height = mask.height;
        stack.hidden = false;
      }
      if (mask.note) notes.append(h('p', { class: 'note' }, mask.note));
      if (!stack.hidden && (base.width !== mask.width || base.height !== mask.height)) {
        notes.append(h('p', { class: 'note' }, `The mask is ${mask.width}\u00d7${mask.height}; the image ${base.width}\u00d7${base.height}: scaled to fit.`));
      }
      let opacity = 0.5;
      paintMask(overlay, mask, opacity);
      const toggle = h('input', { type: 'checkbox', id: 'mask-toggle', checked: true });
      toggle.addEventListener('change', () => {
        overlay.hidden = !toggle.checked;
      });
      const slider = h('input', { type: 'range', id: 'mask-opacity', min: 0, max: 100, step: 5, value: 50 });
      const value = h('output', { for: 'mask-opacity', id: 'mask-opacity-value' }, '50 %');
      slider.addEventListener('input', () => {
        opacity = Number(slider.value) / 100;
        value.textContent = `${slider.value} %`;
        paintMask(overlay, mask, opacity);
      });
      const present = new Set(mask.labels);
      const labels = (segmentation.labels ?? []).filter((l) => (l.index ?? 0) > 0);
      const legend = h('ul', { id: 'mask-legend', class: 'legend', 'aria-label': 'Mask legend' },
        labels.map((l) =>
          h('li', { dataset: { label: l.label } },
            svg('svg', { width: 16, height: 16, viewBox: '0 0 16 16', 'aria-hidden': 'true', class: 'swatch' },
              svg('rect', { x: 0.5, y: 0.5, width: 15, height: 15, fill: cssColour(labelColour(l.index)), stroke: '#1b1f24' })),
            ` ${l.index}: ${l.label}`, present.has(l.index) ? '' : ' (not present in the shown slice)'),
        ));
      controls.append(
        h('fieldset', { class: 'mask-controls' }, h('legend', {}, 'Segmentation overlay'),
          h('div', { class: 'check' }, toggle, h('label', { for: 'mask-toggle' }, 'Show the segmentation mask')),
          h('div', { class: 'wl-field' }, h('label', { for: 'mask-opacity' }, 'Mask opacity'), h('div', { class: 'wl-inputs' }, slider, value)),
          legend),
      );
    }
  }
}
