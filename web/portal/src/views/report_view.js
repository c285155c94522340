// The report view (clinician): the image with any segmentation overlaid, the findings with a
// probability chart, the FHIR DiagnosticReport's conclusion and the provider's receipt.
import { compactVerify, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';
import { probabilityChart, segmentationTable } from '../chart.js';
import { createImageViewer } from '../dicom_view.js';
import { badge, formatTime, formatValue, h, sha256Hex } from '../dom.js';

function dl(pairs, props = {}) {
  return h('dl', { class: 'facts', ...props }, pairs.filter(([, v]) => v !== undefined).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v instanceof Node ? v : formatValue(v))]));
}

function mono(text) {
  return h('span', { class: 'mono' }, String(text ?? '\u2014'));
}

function resources(bundle, type) {
  return (bundle?.entry ?? []).map((e) => e?.resource).filter((r) => r?.resourceType === type);
}

function safeDecode(fn, value) {
  try {
    return fn(value);
  } catch {
    return null;
  }
}

// What the portal itself can re-check about the receipt, with what it has.
async function receiptChecks(result, imageBytes) {
  const checks = [];
  const receipt = result.receipt ?? '';
  const token = result.provider_token ?? '';
  const claims = safeDecode(decodeJwt, receipt);
  const tokenClaims = safeDecode(decodeJwt, token);
  if (!claims) return { checks: [{ label: 'Receipt', ok: false, text: 'not a JWS' }], claims: null, header: null, tokenClaims };
  const header = safeDecode(decodeProtectedHeader, receipt);
  const tokenHash = await sha256Hex(new TextEncoder().encode(token));
  checks.push({
    id: 'receipt-token', label: 'Names this provider token', ok: tokenHash === claims.provider_token_sha256,
    text: tokenHash === claims.provider_token_sha256 ? 'SHA-256 of the token matches provider_token_sha256' : 'provider_token_sha256 does not match the token',
  });
  const tls = (tokenClaims?.runtime?.keys ?? []).find((k) => k?.kid === 'tls');
  try {
    if (!tls) throw new Error('the provider token names no TLS key');
    const key = await importJWK({ kty: tls.kty, crv: tls.crv, x: tls.x, y: tls.y }, 'ES256');
    await compactVerify(receipt, key, { algorithms: ['ES256'] });
    checks.push({ id: 'receipt-signature', label: 'Signed by the provider\u2019s attested key', ok: true, text: 'ES256 signature valid with the TLS key in the provider token' });
  } catch (error) {
    checks.push({ id: 'receipt-signature', label: 'Signed by the provider\u2019s attested key', ok: false, text: error.message });
  }
  if (imageBytes) {
    const imageHash = await sha256Hex(imageBytes);
    checks.push({
      id: 'receipt-request', label: 'Covers this image', ok: imageHash === claims.request_sha256,
      text: imageHash === claims.request_sha256 ? 'SHA-256 of the image shown equals request_sha256' : 'request_sha256 differs from the image shown',
    });
  }
  const model = result.diagnosis?.model ?? {};
  if (claims.model) {
    const same = claims.model.sha256 === model.sha256 && claims.model.name === model.name;
    checks.push({ id: 'receipt-model', label: 'Names this model', ok: same, text: `${claims.model.name} v${claims.model.version}, SHA-256 ${String(claims.model.sha256 ?? '').slice(0, 16)}\u2026` });
  }
  return { checks, claims, header, tokenClaims };
}

function findingsPanel(diagnosis) {
  const task = diagnosis?.model?.task ?? '';
  const findings = Array.isArray(diagnosis?.findings) ? diagnosis.findings : [];
  const panel = h('div', { id: 'report-findings', class: 'findings' }, h('h3', {}, 'Findings'));
  if (task.startsWith('segmentation')) {
    panel.append(segmentationTable(findings));
  } else {
    panel.append(probabilityChart(findings));
    if (Array.isArray(diagnosis?.frames) && diagnosis.frames.length > 1) {
      panel.append(h('p', { class: 'note' }, `The model ran on each of ${diagnosis.frames.length} frames; the chart shows the highest probability per label over all frames.`));
    }
  }
  if (diagnosis?.intended_use) {
    panel.append(h('p', { id: 'intended-use', class: 'note intended-use' }, badge('info', 'Intended use'), ' ', diagnosis.intended_use));
  }
  return panel;
}

function conclusionPanel(bundle, error) {
  const panel = h('div', { id: 'report-conclusion', class: 'conclusion' }, h('h3', {}, 'Diagnostic report (FHIR)'));
  if (error) {
    panel.append(h('p', { class: 'note' }, badge('fail', 'Unavailable'), ` ${error}`));
    return panel;
  }
  const report = resources(bundle, 'DiagnosticReport')[0];
  if (!report) {
    panel.append(h('p', { class: 'note' }, 'The bundle holds no DiagnosticReport.'));
    return panel;
  }
  panel.append(
    h('p', { id: 'report-conclusion-text', class: 'conclusion-text' }, report.conclusion ?? '(no conclusion)'),
    dl([
      ['Report', report.code?.coding?.[0]?.display ?? report.code?.text ?? 'Diagnostic report'],
      ['Status', report.status],
      ['Effective', report.effectiveDateTime],
      ['Issued', report.issued],
      ['Observations', String(resources(bundle, 'Observation').length)],
      ['Imaging study', resources(bundle, 'ImagingStudy')[0]?.identifier?.[0]?.value],
    ]),
    h('details', { class: 'raw' }, h('summary', {}, 'The FHIR Bundle as received (JSON)'), h('pre', { id: 'report-bundle-json' }, JSON.stringify(bundle, null, 2))),
  );
  return panel;
}

async function receiptPanel(result, imageBytes) {
  const details = h('details', { id: 'receipt', class: 'receipt' }, h('summary', {}, 'Provider\u2019s receipt and attestation'));
  if (!result?.receipt) {
    details.append(h('p', {}, 'No receipt.'));
    return details;
  }
  const { checks, claims, header, tokenClaims } = await receiptChecks(result, imageBytes);
  details.append(
    h('p', {}, 'The diagnostic provider signed this receipt inside its TEE with the key its attestation token names. It binds the model (by SHA-256), the exact request and response bodies (by SHA-256), the platform\u2019s token that called it (caller_jti) and the provider\u2019s own token.'),
    h('h4', {}, 'Checked in this browser'),
    h('ul', { id: 'receipt-checks', class: 'checklist' }, checks.map((c) => h('li', { dataset: { check: c.id ?? '', ok: String(c.ok) } }, c.ok ? badge('pass', 'Pass') : badge('fail', 'Fail'), ' ', h('strong', {}, c.label), `: ${c.text}`))),
    h('h4', {}, 'Receipt header'),
    dl([['Algorithm', header?.alg], ['Type', header?.typ], ['Key id', header?.kid ? mono(header.kid) : undefined]], { id: 'receipt-header' }),
    h('h4', {}, 'Receipt claims'),
    dl([
      ['Issuer', claims?.iss],
      ['Issued', claims?.iat ? formatTime(claims.iat) : undefined],
      ['Receipt id', claims?.jti ? mono(claims.jti) : undefined],
      ['Endpoint', claims?.endpoint],
      ['Model', claims?.model ? `${claims.model.name} version ${claims.model.version}` : undefined],
      ['Model SHA-256', claims?.model?.sha256 ? mono(claims.model.sha256) : undefined],
      ['Request SHA-256 (the image)', claims?.request_sha256 ? mono(claims.request_sha256) : undefined],
      ['Response SHA-256 (the findings)', claims?.response_sha256 ? mono(claims.response_sha256) : undefined],
      ['Caller token id (the platform)', claims?.caller_jti ? mono(claims.caller_jti) : undefined],
      ['Provider token SHA-256', claims?.provider_token_sha256 ? mono(claims.provider_token_sha256) : undefined],
    ], { id: 'receipt-claims' }),
    h('h4', {}, 'The provider, from its attestation token'),
    dl([
      ['TEE', tokenClaims?.tee],
      ['Simulated', tokenClaims ? (tokenClaims['x-cloister-simulated'] ? 'YES \u2014 simulated TEE, no hardware protection' : 'no') : undefined],
      ['Measurement', tokenClaims?.measurement ? mono(tokenClaims.measurement) : undefined],
      ['TCB status', tokenClaims?.tcb_status],
      ['Debuggable', tokenClaims ? (tokenClaims.debuggable ? 'yes' : 'no') : undefined],
      ['Token issuer', tokenClaims?.iss],
      ['Token issued', tokenClaims?.iat ? formatTime(tokenClaims.iat) : undefined],
    ], { id: 'provider-token' }),
    h('h4', {}, 'What the platform verified about the provider'),
    dl([
      ['TEE', result.provider?.tee],
      ['Simulated', result.provider ? String(Boolean(result.provider.simulated)) : undefined],
      ['Measurement (on the platform\u2019s allow-list)', result.provider?.measurement ? mono(result.provider.measurement) : undefined],
      ['TCB status', result.provider?.tcb_status],
      ['Token id', result.provider?.jti ? mono(result.provider.jti) : undefined],
    ], { id: 'provider-verified' }),
    h('details', { class: 'raw' }, h('summary', {}, 'The receipt (compact JWS)'), h('pre', { id: 'receipt-jws', class: 'mono wrap' }, result.receipt)),
  );
  return details;
}

// Renders the report of `study` into `container`. `api` is the app's sealed call wrapper; it
// throws an ApiError (with .problem) on an error status.
export async function renderReport(container, study, { api, patientLabel }) {
  container.replaceChildren(h('p', { class: 'hint', role: 'status' }, 'Loading the report (sealed)\u2026'));
  const id = encodeURIComponent(study.id);
  const [resultAnswer, reportAnswer, imageAnswer] = await Promise.allSettled([
    api('GET', `/v1/studies/${id}/result`),
    api('GET', `/v1/studies/${id}/report`),
    api('GET', `/v1/studies/${id}/image`),
  ]);
  if (resultAnswer.status === 'rejected') throw resultAnswer.reason;
  const result = resultAnswer.value.json() ?? {};
  const diagnosis = result.diagnosis ?? {};
  const model = diagnosis.model ?? {};

  const imagePanel = h('div', { id: 'report-image', class: 'image-panel' }, h('h3', {}, 'Image'));
  const viewer = h('div', { class: 'viewer' });
  imagePanel.append(viewer);

  const imageBytes = imageAnswer.status === 'fulfilled' ? imageAnswer.value.body : null;
  container.replaceChildren(
    dl([
      ['Study', mono(study.id)],
      ['Patient', patientLabel],
      ['Model', `${model.name ?? study.model} version ${model.version ?? '?'} (${model.task ?? 'unknown task'})`],
      ['Input', diagnosis.input ? `${diagnosis.input.format ?? ''} ${diagnosis.input.modality ?? ''} ${diagnosis.input.columns ?? '?'}\u00d7${diagnosis.input.rows ?? '?'}${diagnosis.input.frames > 1 ? `, ${diagnosis.input.frames} frames` : ''}` : undefined],
      ['Submitted', formatTime(study.created_at)],
      ['Completed', formatTime(study.completed_at)],
    ], { id: 'report-meta' }),
    h('div', { class: 'report-grid' }, imagePanel, findingsPanel(diagnosis)),
    conclusionPanel(reportAnswer.status === 'fulfilled' ? reportAnswer.value.json() : null,
      reportAnswer.status === 'rejected' ? (reportAnswer.reason?.message ?? String(reportAnswer.reason)) : null),
    await receiptPanel(result, imageBytes),
  );
  if (imageAnswer.status === 'fulfilled') {
    const contentType = (imageAnswer.value.contentType || study.media_type || '').split(';')[0].trim().toLowerCase();
    await createImageViewer(viewer, { bytes: imageAnswer.value.body, contentType, segmentation: diagnosis.segmentation ?? null });
  } else {
    viewer.append(h('p', { class: 'note' }, badge('fail', 'Image unavailable'), ` ${imageAnswer.reason?.message ?? ''}`));
  }
}
