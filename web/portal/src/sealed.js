// The sealed tunnel to cloister-platform, in the browser (DESIGN.md "Sealed messages"; the bytes are
// those of libs/crypto sealed_message.h and libs/service sealed_http.h, which cloister-platform
// opens — tests/node/hpke_interop.mjs checks this layout against the C++ code).
//
// Every API call — method, path and query, the session token and the body — is sealed with HPKE
// (RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM) to the platform's
// attested key and POSTed to /v1/sealed; the answer is sealed under a key exported from the same HPKE
// context, so a TLS-terminating ingress sees only lengths, and only this page can open the answer.
//
//   request  = hdr (key_id 1 ‖ kem 0x0020 ‖ kdf 0x0001 ‖ aead 0x0002) ‖ enc (32) ‖ HPKE ciphertext
//              info = "cloister request" ‖ 0x00 ‖ hdr
//   inner    = u32 big-endian head length ‖ head (JSON) ‖ body
//              request head {"method","target","content_type","headers"}; response head {"status","content_type","headers"}
//   response = response_nonce (32) ‖ AES-256-GCM(key, nonce, inner response)
//              secret = Export("cloister response", 32); prk = HKDF-Extract(enc ‖ response_nonce, secret)
//              key = HKDF-Expand(prk, "key", 32); nonce = HKDF-Expand(prk, "nonce", 12)

import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';

const KEY_ID = 1; // the attested HPKE key's id (service/sealed_http.h kAttestedHpkeKeyId)
const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0002; // AES-256-GCM
const NK = 32;
const NN = 12;
const SECRET_SIZE = Math.max(NK, NN);
const TAG_SIZE = 16;
const SEALED_REQUEST_TYPE = 'application/cloister-sealed-request';
const SEALED_RESPONSE_TYPE = 'application/cloister-sealed-response';
const MAX_HEAD_BYTES = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function concat(...parts) {
  const size = parts.reduce((total, part) => total + part.length, 0);
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const HEADER = Uint8Array.of(KEY_ID, KEM_ID >> 8, KEM_ID & 0xff, KDF_ID >> 8, KDF_ID & 0xff, AEAD_ID >> 8, AEAD_ID & 0xff);
const REQUEST_INFO = concat(encoder.encode('cloister request'), Uint8Array.of(0), HEADER);

function suite() {
  return new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
}

// HKDF-SHA256 (extract with salt, then expand with info) through WebCrypto.
async function hkdf(secret, salt, info, length) {
  const key = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt, info: encoder.encode(info) },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}

function frame(head, body) {
  const headBytes = encoder.encode(JSON.stringify(head));
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, headBytes.length, false);
  return concat(length, headBytes, body);
}

function unframe(bytes) {
  if (bytes.length < 4) throw new Error('the sealed answer is truncated');
  const headLength = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false);
  if (headLength > MAX_HEAD_BYTES || 4 + headLength > bytes.length) throw new Error('the sealed answer is malformed');
  const head = JSON.parse(decoder.decode(bytes.subarray(4, 4 + headLength)));
  if (typeof head !== 'object' || head === null || !Number.isInteger(head.status)) {
    throw new Error('the sealed answer has no status');
  }
  return { head, body: bytes.slice(4 + headLength) };
}

function bodyBytes(body) {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (typeof body === 'string') return encoder.encode(body);
  return encoder.encode(JSON.stringify(body));
}

// Seals `plaintext` to the platform; returns the request bytes and the opener of its one answer.
export async function sealRequest(recipientPublicKey, plaintext) {
  const hpke = suite();
  const sender = await hpke.createSenderContext({
    recipientPublicKey: await hpke.kem.deserializePublicKey(recipientPublicKey),
    info: REQUEST_INFO,
  });
  const ciphertext = new Uint8Array(await sender.seal(plaintext));
  const enc = new Uint8Array(sender.enc);
  const secret = new Uint8Array(await sender.export(encoder.encode('cloister response'), SECRET_SIZE));
  return {
    message: concat(HEADER, enc, ciphertext),
    async open(response) {
      if (response.length < SECRET_SIZE + TAG_SIZE) throw new Error('the sealed answer is truncated');
      const salt = concat(enc, response.subarray(0, SECRET_SIZE));
      const key = await crypto.subtle.importKey('raw', await hkdf(secret, salt, 'key', NK), 'AES-GCM', false, ['decrypt']);
      const iv = await hkdf(secret, salt, 'nonce', NN);
      try {
        return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, key, response.subarray(SECRET_SIZE)));
      } catch {
        throw new Error('the sealed answer does not open (tampered, or not for this request)');
      }
    },
  };
}

function answer(head, body) {
  const headers = {};
  for (const [name, value] of Object.entries(head.headers ?? {})) headers[name.toLowerCase()] = String(value);
  const contentType = typeof head.content_type === 'string' ? head.content_type : '';
  const result = {
    status: head.status,
    contentType,
    headers,
    body,
    text: () => decoder.decode(body),
    json: () => {
      try {
        return JSON.parse(decoder.decode(body));
      } catch {
        return null;
      }
    },
    problem: null,
  };
  if (head.status >= 400 && contentType.startsWith('application/problem+json')) result.problem = result.json();
  return result;
}

export class SealedClient {
  #url;
  #key;
  #session = null;

  constructor(platformUrl, hpkePublicKey) {
    if (!(hpkePublicKey instanceof Uint8Array) || hpkePublicKey.length !== 32) {
      throw new Error('SealedClient needs the attested 32-byte X25519 key');
    }
    this.#url = platformUrl.replace(/\/+$/, '');
    this.#key = hpkePublicKey;
  }

  get session() {
    return this.#session;
  }

  // One API call through the tunnel. Throws only when the sealed exchange itself fails.
  async call(method, target, { body, contentType, headers } = {}) {
    const innerHeaders = { ...(headers ?? {}) };
    if (this.#session) innerHeaders.Authorization = `Bearer ${this.#session}`;
    const bytes = bodyBytes(body);
    let type = contentType ?? '';
    if (!type && bytes.length > 0) {
      type = typeof body === 'object' && !(body instanceof Uint8Array) && !(body instanceof ArrayBuffer)
        ? 'application/json'
        : 'application/octet-stream';
    }
    const head = { method, target, content_type: bytes.length > 0 ? type : '', headers: innerHeaders };
    const sealed = await sealRequest(this.#key, frame(head, bytes));
    const response = await fetch(`${this.#url}/v1/sealed`, {
      method: 'POST',
      headers: { 'Content-Type': SEALED_REQUEST_TYPE },
      body: sealed.message,
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
    const raw = new Uint8Array(await response.arrayBuffer());
    const outerType = response.headers.get('Content-Type') ?? '';
    if (response.status !== 200 || !outerType.startsWith(SEALED_RESPONSE_TYPE)) {
      // A clear answer: the platform could not open the request (or something in between refused it).
      let detail = `HTTP ${response.status}`;
      try {
        const problem = JSON.parse(decoder.decode(raw));
        detail = `${problem.code ?? 'error'}: ${problem.detail ?? problem.title ?? ''}`;
      } catch {
        // not a problem document
      }
      throw new Error(`the platform refused the sealed request (${detail})`);
    }
    const { head: answerHead, body: answerBody } = unframe(await sealed.open(raw));
    return answer(answerHead, answerBody);
  }

  async login(tenant, username, password) {
    const result = await this.call('POST', '/v1/login', { body: { tenant, username, password } });
    const document = result.json();
    if (result.status !== 200 || !document || typeof document.token !== 'string') {
      const problem = result.problem ?? {};
      const error = new Error(problem.detail ?? problem.title ?? `login failed (HTTP ${result.status})`);
      error.code = problem.code ?? 'login_failed';
      error.status = result.status;
      throw error;
    }
    this.#session = document.token;
    return document;
  }

  async logout() {
    if (!this.#session) return;
    try {
      await this.call('POST', '/v1/logout');
    } finally {
      this.#session = null;
    }
  }
}
