// The findings' probability chart: SVG bars with the labels and percentages as text, and the same
// numbers in a table (so the chart is never the only way to read them).
import { h, svg } from './dom.js';

export function percent(p) {
  if (!Number.isFinite(p)) return '\u2014';
  const v = p * 100;
  return `${v >= 99.95 || v < 0.05 ? v.toFixed(0) : v.toFixed(1)} %`;
}

// findings: [{label, probability | score}] → a <figure> holding the SVG chart and a table.
export function probabilityChart(findings, { title = 'Finding probabilities', id = 'findings-chart' } = {}) {
  const rows = findings.map((f) => ({
    label: String(f.label ?? f.index ?? '?'),
    value: Number.isFinite(f.probability) ? f.probability : Number.isFinite(f.score) ? f.score : NaN,
    isScore: !Number.isFinite(f.probability) && Number.isFinite(f.score),
  }));
  const rowHeight = 30;
  const labelWidth = 150;
  const barWidth = 230;
  const width = labelWidth + barWidth + 70;
  const height = rows.length * rowHeight + 8;
  const titleId = `${id}-title`;
  const chart = svg('svg', {
    id, class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': titleId, preserveAspectRatio: 'xMinYMin meet',
  }, svg('title', { id: titleId }, `${title}: ${rows.map((r) => `${r.label} ${r.isScore ? r.value.toFixed(3) : percent(r.value)}`).join(', ')}`));
  rows.forEach((row, i) => {
    const y = 4 + i * rowHeight;
    const fraction = row.isScore ? 0 : Math.max(0, Math.min(1, row.value || 0));
    chart.append(
      svg('text', { x: labelWidth - 8, y: y + rowHeight / 2 + 5, 'text-anchor': 'end', class: 'chart-label' }, row.label),
      svg('rect', { x: labelWidth, y: y + 5, width: barWidth, height: rowHeight - 10, class: 'chart-track', rx: 3 }),
      svg('rect', { x: labelWidth, y: y + 5, width: Math.max(fraction * barWidth, fraction > 0 ? 1 : 0), height: rowHeight - 10, class: 'chart-bar', rx: 3 }),
      svg('text', { x: labelWidth + barWidth + 8, y: y + rowHeight / 2 + 5, class: 'chart-value' }, row.isScore ? row.value.toFixed(3) : percent(row.value)),
    );
  });
  const table = h('table', { id: `${id}-table`, class: 'data compact' },
    h('caption', {}, title),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Finding'), h('th', { scope: 'col', class: 'num' }, rows.some((r) => r.isScore) ? 'Score' : 'Probability'))),
    h('tbody', {}, rows.map((r) => h('tr', { dataset: { label: r.label } }, h('th', { scope: 'row' }, r.label), h('td', { class: 'num' }, r.isScore ? r.value.toFixed(3) : percent(r.value))))),
  );
  return h('figure', { class: 'chart-figure' }, chart, h('figcaption', { class: 'visually-hidden' }, title), table);
}

// Segmentation findings: label, voxels, area mm² or volume mL.
export function segmentationTable(findings, { id = 'segmentation-table' } = {}) {
  const hasArea = findings.some((f) => Number.isFinite(f.area_mm2));
  const hasVolume = findings.some((f) => Number.isFinite(f.volume_ml));
  const head = [h('th', { scope: 'col' }, 'Label'), h('th', { scope: 'col', class: 'num' }, 'Voxels')];
  if (hasArea) head.push(h('th', { scope: 'col', class: 'num' }, 'Area (mm\u00b2)'));
  if (hasVolume) head.push(h('th', { scope: 'col', class: 'num' }, 'Volume (mL)'));
  return h('table', { id, class: 'data compact' },
    h('caption', {}, 'Segmented structures'),
    h('thead', {}, h('tr', {}, head)),
    h('tbody', {}, findings.length === 0
      ? h('tr', {}, h('td', { colspan: head.length }, 'No structure found (background only).'))
      : findings.map((f) => {
        const cells = [h('th', { scope: 'row' }, String(f.label)), h('td', { class: 'num' }, String(f.voxels ?? '\u2014'))];
        if (hasArea) cells.push(h('td', { class: 'num' }, Number.isFinite(f.area_mm2) ? f.area_mm2.toFixed(1) : '\u2014'));
        if (hasVolume) cells.push(h('td', { class: 'num' }, Number.isFinite(f.volume_ml) ? f.volume_ml.toFixed(2) : '\u2014'));
        return h('tr', { dataset: { label: String(f.label) } }, cells);
      })),
  );
}
