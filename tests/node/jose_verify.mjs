// Third-party check: the npm `jose` library verifies a cloister-attest token using nothing but the
// issuer's OIDC discovery document and its JWKS — no Cloister code.
//
//   CLOISTER_ISSUER=https://127.0.0.1:PORT CLOISTER_TOKEN=<jwt> NODE_EXTRA_CA_CERTS=<ca.pem> \
//     node --test tests/node/jose_verify.mjs
// (the integration test runs it against a live `cloister up`).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

const ISSUER = process.env.CLOISTER_ISSUER;
const TOKEN = process.env.CLOISTER_TOKEN;

async function discover() {
  assert.ok(ISSUER, 'CLOISTER_ISSUER must be set');
  assert.ok(TOKEN, 'CLOISTER_TOKEN must be set');
  let response;
  try {
    response = await fetch(`${ISSUER}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new Error(`discovery fetch failed: ${error.cause ?? error}`);
  }
  assert.equal(response.status, 200);
  const discovery = await response.json();
  assert.equal(discovery.issuer, ISSUER);
  assert.ok(discovery.id_token_signing_alg_values_supported.includes('ES256'));
  return discovery;
}

test('jose verifies the token with the JWKS named by OIDC discovery', async () => {
  const discovery = await discover();
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri), { timeoutDuration: 10_000 });
  const { payload, protectedHeader } = await jwtVerify(TOKEN, jwks, { issuer: ISSUER, algorithms: ['ES256'] });
  assert.equal(protectedHeader.alg, 'ES256');
  assert.equal(protectedHeader.jku, discovery.jwks_uri);
  assert.equal(payload.tee, 'sim');
  assert.equal(payload['x-cloister-simulated'], true);
  assert.match(payload.measurement, /^[0-9a-f]{96}$/);
  assert.equal(payload.runtime.keys.length, 2);
  assert.deepEqual(payload.runtime.keys.map((key) => key.kid).sort(), ['hpke', 'tls']);
  assert.ok(payload.exp > payload.iat);
});

test('jose rejects the token once its payload is altered', async () => {
  const discovery = await discover();
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri), { timeoutDuration: 10_000 });
  const [header, payload, signature] = TOKEN.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url'));
  claims.tee = 'sgx';
  claims['x-cloister-simulated'] = false;
  const forged = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
  await assert.rejects(jwtVerify(forged, jwks, { issuer: ISSUER, algorithms: ['ES256'] }), {
    code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  });
});

test('jose rejects the token for another issuer', async () => {
  const discovery = await discover();
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri), { timeoutDuration: 10_000 });
  assert.ok(decodeProtectedHeader(TOKEN).kid);
  await assert.rejects(jwtVerify(TOKEN, jwks, { issuer: 'https://attacker.invalid', algorithms: ['ES256'] }), {
    code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
  });
});
