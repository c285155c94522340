// Verifying the platform in the browser, before a single byte of patient data leaves it
// (DESIGN.md steps 2–3; docs/portal.md "What the portal checks"):
//
//   1. discovery       GET <attestation_url>/.well-known/openid-configuration: its issuer must be the
//                      attestation URL the hospital configured; then its jwks_uri (the signing keys)
//   2. evidence        GET <platform_url>/v1/attestation: the platform's hardware evidence and the
//                      runtime data it binds (the platform's TLS and HPKE public keys)
//   3. appraisal       POST <attestation_url>/attest/<format> with that evidence: the attestation
//                      service checks it (signatures, certificate chains, TCB, its policy) and
//                      answers a token — a fresh appraisal, not the token the platform presents
//   4. signature       the token is an ES256 JWS by a key of that JWKS (npm jose; never `none`, HMAC
//                      or a key the token names)
//   5. the claims against the hospital's expectations (config.json "expected"): issuer, TEE type,
//      simulated or not, measurement, policy hash, TCB status, debuggable, time left
//   6. runtime_binding the HPKE key in the token's runtime claim is the one the platform serves; the
//                      portal seals to the key in the token, never to anything else
//
// Any failure fails closed: `ok` is false, the failed checks are named, nothing may be sent.

import { compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';

const FETCH_TIMEOUT_MS = 10_000;
const SKEW_S = 30;

const decoder = new TextDecoder();

function trimSlash(url) {
  return String(url ?? '').replace(/\/+$/, '');
}

function base64urlDecode(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) throw new Error('not base64url');
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const binary = atob(padded);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) out[i] = binary.charCodeAt(i);
  return out;
}

async function fetchJson(url, init = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
  try {
    const response = await fetch(url, {
      ...init,
      signal: controller.signal,
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
    const text = await response.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    return { status: response.status, body };
  } catch (error) {
    const reason = error?.name === 'AbortError' ? 'timed out' : 'unreachable (network, TLS or CORS)';
    throw new Error(`${url}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
}

function problemText(status, body) {
  if (body && typeof body === 'object' && typeof body.code === 'string') {
    const rule = typeof body.rule === 'string' ? ` (rule ${body.rule})` : '';
    return `${body.code}${rule}: ${body.detail ?? body.title ?? ''}`.trim();
  }
  return `HTTP ${status}`;
}

// The hospital's configuration (a file the hospital controls, served beside the portal).
export async function loadConfig(url = './config.json') {
  const { status, body } = await fetchJson(url);
  if (status !== 200 || !body || typeof body !== 'object') throw new Error(`cannot load the portal configuration ${url} (HTTP ${status})`);
  for (const member of ['platform_url', 'attestation_url', 'tenant']) {
    if (typeof body[member] !== 'string' || body[member] === '') throw new Error(`the portal configuration lacks "${member}"`);
  }
  if (!body.expected || typeof body.expected !== 'object') throw new Error('the portal configuration lacks "expected"');
  return body;
}

function hpkeKeyOf(runtime) {
  const keys = Array.isArray(runtime?.keys) ? runtime.keys : [];
  const key = keys.find((entry) => entry && entry.kid === 'hpke' && entry.kty === 'OKP' && entry.crv === 'X25519');
  if (!key || typeof key.x !== 'string') return null;
  const bytes = base64urlDecode(key.x);
  return bytes.length === 32 ? bytes : null;
}

const list = (value) => (Array.isArray(value) ? value.map((entry) => String(entry).toLowerCase()) : []);
const short = (hex) => (typeof hex === 'string' && hex.length > 24 ? `${hex.slice(0, 12)}…${hex.slice(-8)}` : String(hex ?? '—'));

export async function verifyPlatform(config, { now = () => Date.now() } = {}) {
  const expected = config?.expected ?? {};
  const issuer = trimSlash(config?.attestation_url);
  const platform = trimSlash(config?.platform_url);
  const checks = [];
  const result = {
    ok: false,
    simulated: false,
    checks,
    failed: [],
    claims: null,
    token: null,
    expiresAt: null,
    hpkePublicKey: null,
    error: null,
  };
  const add = (id, label, expectedText, actual, ok, detail = '') => {
    checks.push({ id, label, expected: expectedText, actual, ok, detail });
    if (!ok) result.failed.push(id);
    return ok;
  };
  const finish = (error = null) => {
    result.error = error;
    result.ok = error === null && result.failed.length === 0 && result.hpkePublicKey !== null;
    return result;
  };

  // 1. The attestation service's discovery document and keys.
  let jwks;
  try {
    const discovery = await fetchJson(`${issuer}/.well-known/openid-configuration`);
    if (discovery.status !== 200 || typeof discovery.body?.jwks_uri !== 'string') {
      throw new Error(`no discovery document (${problemText(discovery.status, discovery.body)})`);
    }
    if (trimSlash(discovery.body.issuer) !== issuer) {
      throw new Error(`the discovery document names issuer ${discovery.body.issuer}, not ${issuer}`);
    }
    const keys = await fetchJson(discovery.body.jwks_uri);
    if (keys.status !== 200 || !Array.isArray(keys.body?.keys)) throw new Error('no JWK Set at the jwks_uri');
    jwks = createLocalJWKSet(keys.body);
    add('discovery', 'Attestation service keys', `OIDC discovery of ${issuer}`, `${keys.body.keys.length} signing key(s)`, true);
  } catch (error) {
    add('discovery', 'Attestation service keys', `OIDC discovery of ${issuer}`, 'unavailable', false, error.message);
    return finish(error.message);
  }

  // 2. The platform's evidence.
  let evidence;
  try {
    const answer = await fetchJson(`${platform}/v1/attestation`);
    const body = answer.body;
    if (answer.status !== 200 || typeof body?.evidence !== 'string' || typeof body?.runtime_data !== 'string' || typeof body?.format !== 'string') {
      throw new Error(`no evidence (${problemText(answer.status, body)})`);
    }
    evidence = body;
    add('evidence', 'Platform evidence', `hardware report from ${platform}`, `${body.format} report`, true);
  } catch (error) {
    add('evidence', 'Platform evidence', `hardware report from ${platform}`, 'unavailable', false, error.message);
    return finish(error.message);
  }

  // 3. A fresh appraisal by the attestation service.
  let token;
  try {
    const answer = await fetchJson(`${issuer}/attest/${encodeURIComponent(evidence.format)}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ evidence: evidence.evidence, runtime_data: evidence.runtime_data }),
    });
    if (answer.status !== 200 || typeof answer.body?.token !== 'string') {
      throw new Error(`the attestation service refused the evidence: ${problemText(answer.status, answer.body)}`);
    }
    token = answer.body.token;
    result.token = token;
    add('appraisal', 'Appraisal by the attestation service', 'evidence accepted', `token issued (policy version ${answer.body.policy_version ?? '?'})`, true);
  } catch (error) {
    add('appraisal', 'Appraisal by the attestation service', 'evidence accepted', 'refused', false, error.message);
    return finish(error.message);
  }

  // 4. The token's signature: ES256 by a key the attestation service publishes.
  let claims;
  try {
    const header = decodeProtectedHeader(token);
    const { payload } = await compactVerify(token, jwks, { algorithms: ['ES256'] });
    claims = JSON.parse(decoder.decode(payload));
    if (!claims || typeof claims !== 'object') throw new Error('the token payload is not a claims set');
    result.claims = claims;
    add('signature', 'Token signature', 'ES256 by the attestation service', `valid (key ${short(header.kid)})`, true);
  } catch (error) {
    add('signature', 'Token signature', 'ES256 by the attestation service', 'invalid', false, error.message);
    return finish(error.message);
  }

  // 5. The claims against what the hospital expects.
  add('issuer', 'Issuer', issuer, String(claims.iss), trimSlash(claims.iss) === issuer);

  const teeTypes = list(expected.tee_types);
  add('tee', 'TEE type', teeTypes.join(', ') || '(none configured)', String(claims.tee), teeTypes.includes(String(claims.tee)));

  result.simulated = claims.tee === 'sim' || claims['x-cloister-simulated'] === true;
  add(
    'simulated',
    'Real hardware',
    expected.allow_simulated ? 'simulated TEE allowed (development)' : 'hardware TEE',
    result.simulated ? 'SIMULATED — no hardware protection' : 'hardware TEE',
    !result.simulated || expected.allow_simulated === true,
  );

  const measurements = list(expected.measurements);
  add(
    'measurement',
    'Code measurement',
    measurements.length ? measurements.map(short).join(', ') : '(no approved measurement configured)',
    short(claims.measurement),
    measurements.length > 0 && measurements.includes(String(claims.measurement).toLowerCase()),
    measurements.length ? `full value: ${claims.measurement}` : 'the hospital configuration must list the approved measurements',
  );

  const policyHashes = list(expected.policy_hashes);
  add(
    'policy_hash',
    'Appraisal policy',
    policyHashes.length ? policyHashes.map(short).join(', ') : 'any (not pinned)',
    short(claims.policy_hash),
    policyHashes.length === 0 || policyHashes.includes(String(claims.policy_hash).toLowerCase()),
    `full value: ${claims.policy_hash}`,
  );

  const tcbStatuses = Array.isArray(expected.tcb_statuses) ? expected.tcb_statuses.map(String) : ['UpToDate'];
  add('tcb_status', 'TCB status', tcbStatuses.join(', '), String(claims.tcb_status), tcbStatuses.includes(String(claims.tcb_status)));

  add(
    'debug',
    'Not debuggable',
    expected.allow_debug ? 'debuggable allowed' : 'not debuggable',
    claims.debuggable === false ? 'not debuggable' : 'DEBUGGABLE',
    claims.debuggable === false || expected.allow_debug === true,
  );

  const nowS = Math.floor(now() / 1000);
  const minValidity = Number.isInteger(expected.min_token_validity_s) ? expected.min_token_validity_s : 30;
  const exp = Number.isInteger(claims.exp) ? claims.exp : null;
  const nbf = Number.isInteger(claims.nbf) ? claims.nbf : null;
  result.expiresAt = exp === null ? null : exp * 1000;
  add(
    'expiry',
    'Token validity',
    `valid for at least ${minValidity} s`,
    exp === null ? 'no expiry' : `${exp - nowS} s left`,
    exp !== null && exp - nowS >= minValidity && (nbf === null || nbf <= nowS + SKEW_S),
  );

  // 6. The key to seal to: the token's, and the platform serves the same one.
  let tokenKey = null;
  let servedKey = null;
  try {
    tokenKey = hpkeKeyOf(claims.runtime);
    servedKey = hpkeKeyOf(JSON.parse(decoder.decode(base64urlDecode(evidence.runtime_data))));
  } catch {
    // left null: the check below fails
  }
  const same = tokenKey !== null && servedKey !== null && tokenKey.every((byte, i) => byte === servedKey[i]);
  add('runtime_binding', 'Sealing key', 'the HPKE key the token attests', tokenKey ? 'X25519 key bound to the evidence' : 'none', same);
  if (same) result.hpkePublicKey = tokenKey;
  return finish();
}
