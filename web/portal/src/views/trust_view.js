// The trust panel: what verifyPlatform found, check by check, the simulated-TEE banner, the refusal.
import { append, badge, byId, clear, formatDuration, formatValue, h } from '../dom.js';

export function renderPending(text = 'Verifying the platform\u2026') {
  const status = byId('trust-status');
  status.className = 'trust-status pending';
  status.replaceChildren(badge('pending', 'Checking'), ' ', text);
  byId('verify-again').disabled = true;
}

// result: verifyPlatform's answer, or null with `error` when there is no configuration.
export function renderTrust(result, { error = null } = {}) {
  const status = byId('trust-status');
  const body = clear(byId('trust-checks-body'));
  const refusal = byId('trust-refusal');
  const panel = byId('trust-panel');
  byId('verify-again').disabled = false;

  const simulated = Boolean(result?.simulated);
  byId('simulated-banner').hidden = !simulated;

  for (const check of result?.checks ?? []) {
    const actual = h('td', { class: 'value' }, h('span', { class: 'mono' }, formatValue(check.actual)));
    if (check.detail) actual.append(h('span', { class: 'check-detail' }, check.detail));
    body.append(
      h('tr', { id: `check-${check.id}`, class: check.ok ? 'ok' : 'failed', dataset: { check: check.id, ok: String(Boolean(check.ok)) } },
        h('th', { scope: 'row' }, check.label),
        h('td', { class: 'value' }, h('span', { class: 'mono' }, formatValue(check.expected))),
        actual,
        h('td', { class: 'result' }, check.ok ? badge('pass', 'Pass') : badge('fail', 'Fail'))),
    );
  }

  const ok = Boolean(result?.ok) && !error;
  panel.dataset.verified = ok ? 'true' : 'false';
  if (ok) {
    status.className = 'trust-status pass';
    const claims = result.claims ?? {};
    status.replaceChildren(
      badge('pass', 'Verified'), ' ',
      `${result.checks.length} checks passed: ${String(claims.tee ?? '?').toUpperCase()} TEE, measurement ${String(claims.measurement ?? '').slice(0, 12)}\u2026, TCB ${claims.tcb_status ?? '?'}. Requests are sealed to the attested key.`,
    );
    if (simulated) status.append(' ', badge('warn', 'Simulated TEE'));
    refusal.hidden = true;
    clear(refusal);
  } else {
    status.className = 'trust-status fail';
    status.replaceChildren(badge('fail', 'Not verified'), ' ', 'The portal refuses to send anything to this platform.');
    const failed = (result?.checks ?? []).filter((c) => !c.ok);
    append(clear(refusal), [
      h('h3', { id: 'trust-refusal-heading' }, 'Refused: nothing will be sent'),
      h('p', {}, error
        ? `The portal cannot check the platform: ${error}`
        : 'The platform did not prove what this hospital expects, so no login, patient data or image can be sent. Failed checks:'),
      failed.length
        ? h('ul', { id: 'trust-failed-list' }, failed.map((c) =>
          h('li', { dataset: { check: c.id } }, h('strong', {}, c.label), `: expected ${formatValue(c.expected)}, got ${formatValue(c.actual)}`, c.detail ? ` (${c.detail})` : '')))
        : null,
      result?.error && failed.length === 0 ? h('p', {}, result.error) : null,
    ]);
    refusal.hidden = false;
    refusal.setAttribute('role', 'alert');
  }
}

export function renderExpiry(result, { now = Date.now(), nextCheck = null } = {}) {
  const el = byId('token-expiry');
  if (!result?.ok || !Number.isFinite(result.expiresAt)) {
    el.textContent = '';
    return;
  }
  const left = result.expiresAt - now;
  const parts = [`Platform token valid for ${formatDuration(left)}`];
  if (Number.isFinite(nextCheck)) parts.push(`re-verified automatically in ${formatDuration(Math.max(1000, nextCheck - now))}`);
  el.textContent = `${parts.join('; ')}.`;
}
