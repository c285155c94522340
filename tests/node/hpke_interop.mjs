// Interop between Cloister's C++ HPKE / sealed messages (libs/crypto) and npm @hpke/core, the
// library the browser portal uses. The C++ side is driven through tests/tools/cloister_hpke_tool.
//
//   CLOISTER_HPKE_TOOL=/path/to/build/bin/cloister_hpke_tool node --test tests/node/hpke_interop.mjs
//
// The sealed-message format implemented here in JavaScript is the one documented at the top of
// libs/crypto/include/cloister/crypto/sealed_message.h; it uses @hpke/core for HPKE and node:crypto
// for the response layer (HKDF-SHA256 and AES-GCM), so neither side shares code with the other.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { test } from 'node:test';

import {
  Aes128Gcm,
  Aes256Gcm,
  CipherSuite,
  DhkemX25519HkdfSha256,
  ExportOnly,
  HkdfSha256,
} from '@hpke/core';

const TOOL = process.env.CLOISTER_HPKE_TOOL;
const TOOL_TIMEOUT_MS = 10_000;

// ----------------------------------------------------------------------------------------------
// Bytes
// ----------------------------------------------------------------------------------------------

const fromHex = (hex) => new Uint8Array(Buffer.from(hex, 'hex'));
const toHex = (bytes) => Buffer.from(bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes).toString('hex');
const utf8 = (text) => new TextEncoder().encode(text);
const concat = (...parts) => new Uint8Array(Buffer.concat(parts.map((part) => Buffer.from(part))));

// ----------------------------------------------------------------------------------------------
// The sealed-message format (sealed_message.h), over @hpke/core
// ----------------------------------------------------------------------------------------------

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEADS = {
  0x0001: { name: 'AES-128-GCM', make: () => new Aes128Gcm(), cipher: 'aes-128-gcm', nk: 16, nn: 12 },
  0x0002: { name: 'AES-256-GCM', make: () => new Aes256Gcm(), cipher: 'aes-256-gcm', nk: 32, nn: 12 },
};
const TAG_SIZE = 16;
const HEADER_SIZE = 7;
const ENC_SIZE = 32;

function suiteFor(aeadId) {
  const aead = AEADS[aeadId];
  assert.ok(aead, `no @hpke/core AEAD for id ${aeadId}`);
  return new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: aead.make() });
}

function header(keyId, aeadId) {
  return Uint8Array.of(keyId, KEM_ID >> 8, KEM_ID & 0xff, KDF_ID >> 8, KDF_ID & 0xff, aeadId >> 8, aeadId & 0xff);
}

// info = "cloister request" ‖ 0x00 ‖ hdr
const requestInfo = (hdr) => concat(utf8('cloister request'), [0x00], hdr);
const responseSecretSize = (aeadId) => Math.max(AEADS[aeadId].nk, AEADS[aeadId].nn);

// aead_key = Expand(Extract(enc ‖ response_nonce, secret), "key", Nk); aead_nonce likewise with "nonce".
function responseKey(aeadId, enc, secret, responseNonce) {
  const salt = concat(enc, responseNonce);
  const { nk, nn } = AEADS[aeadId];
  return {
    key: Buffer.from(hkdfSync('sha256', secret, salt, 'key', nk)),
    nonce: Buffer.from(hkdfSync('sha256', secret, salt, 'nonce', nn)),
  };
}

async function jsSealRequest(recipientPublicKey, keyId, aeadId, plaintext) {
  const suite = suiteFor(aeadId);
  const hdr = header(keyId, aeadId);
  const sender = await suite.createSenderContext({
    recipientPublicKey: await suite.kem.deserializePublicKey(recipientPublicKey),
    info: requestInfo(hdr),
  });
  const ciphertext = new Uint8Array(await sender.seal(plaintext));
  const enc = new Uint8Array(sender.enc);
  const secret = new Uint8Array(await sender.export(utf8('cloister response'), responseSecretSize(aeadId)));
  return {
    message: concat(hdr, enc, ciphertext),
    openResponse(response) {
      const size = responseSecretSize(aeadId);
      assert.ok(response.length >= size + TAG_SIZE, 'response too short');
      const { key, nonce } = responseKey(aeadId, enc, secret, response.subarray(0, size));
      const decipher = createDecipheriv(AEADS[aeadId].cipher, key, nonce);
      decipher.setAuthTag(response.subarray(response.length - TAG_SIZE));
      return concat(decipher.update(response.subarray(size, response.length - TAG_SIZE)), decipher.final());
    },
  };
}

async function jsOpenRequest(recipientPrivateKey, expectedKeyId, message) {
  assert.ok(message.length >= HEADER_SIZE + ENC_SIZE + TAG_SIZE, 'request too short');
  const hdr = message.subarray(0, HEADER_SIZE);
  assert.equal(hdr[0], expectedKeyId, 'key id');
  assert.equal((hdr[1] << 8) | hdr[2], KEM_ID, 'kem id');
  assert.equal((hdr[3] << 8) | hdr[4], KDF_ID, 'kdf id');
  const aeadId = (hdr[5] << 8) | hdr[6];
  const suite = suiteFor(aeadId);
  const enc = message.subarray(HEADER_SIZE, HEADER_SIZE + ENC_SIZE);
  const recipient = await suite.createRecipientContext({
    recipientKey: await suite.kem.deserializePrivateKey(recipientPrivateKey),
    enc,
    info: requestInfo(hdr),
  });
  const plaintext = new Uint8Array(await recipient.open(message.subarray(HEADER_SIZE + ENC_SIZE)));
  const secret = new Uint8Array(await recipient.export(utf8('cloister response'), responseSecretSize(aeadId)));
  return {
    keyId: hdr[0],
    aeadId,
    plaintext,
    sealResponse(body) {
      const responseNonce = randomBytes(responseSecretSize(aeadId));
      const { key, nonce } = responseKey(aeadId, enc, secret, responseNonce);
      const cipher = createCipheriv(AEADS[aeadId].cipher, key, nonce);
      const ciphertext = concat(cipher.update(body), cipher.final());
      return concat(responseNonce, ciphertext, cipher.getAuthTag());
    },
  };
}

// ----------------------------------------------------------------------------------------------
// The C++ tool
// ----------------------------------------------------------------------------------------------

function startTool(args) {
  assert.ok(TOOL, 'set CLOISTER_HPKE_TOOL to the path of the cloister_hpke_tool binary');
  assert.ok(existsSync(TOOL), `CLOISTER_HPKE_TOOL does not exist: ${TOOL}`);
  const child = spawn(TOOL, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: TOOL_TIMEOUT_MS });
  const lines = [];
  const waiters = [];
  let buffered = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buffered.slice(0, newline)));
      buffered = buffered.slice(newline + 1);
      while (waiters.length > 0 && lines.length > 0) waiters.shift().resolve(lines.shift());
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const waiter of waiters.splice(0)) {
        waiter.reject(new Error(`cloister_hpke_tool exited (${code ?? signal}) before answering: ${stderr}`));
      }
      resolve({ code, signal, stderr });
    });
  });
  return {
    write(line) {
      child.stdin.write(`${line}\n`);
    },
    end() {
      child.stdin.end();
    },
    nextLine() {
      if (lines.length > 0) return Promise.resolve(lines.shift());
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    exited,
  };
}

// Runs a command to completion: its stdin lines in, its one JSON answer and exit code out.
async function runTool(args, stdinLines = []) {
  const tool = startTool(args);
  for (const line of stdinLines) tool.write(line);
  tool.end();
  const answer = await tool.nextLine();
  const { code } = await tool.exited;
  return { code, answer };
}

async function toolKeyPair() {
  const { code, answer } = await runTool(['generate-key-pair']);
  assert.equal(code, 0);
  return { privateKey: fromHex(answer.private_key), publicKey: fromHex(answer.public_key) };
}

async function jsKeyPair() {
  const suite = suiteFor(0x0002);
  const pair = await suite.kem.generateKeyPair();
  return {
    privateKey: new Uint8Array(await suite.kem.serializePrivateKey(pair.privateKey)),
    publicKey: new Uint8Array(await suite.kem.serializePublicKey(pair.publicKey)),
  };
}

// ----------------------------------------------------------------------------------------------
// RFC 9180 vectors in @hpke/core (the same hex as libs/crypto/test/hpke_test.cpp)
// ----------------------------------------------------------------------------------------------

const PLAINTEXT = '4265617574792069732074727574682c20747275746820626561757479';
const INFO = '4f6465206f6e2061204772656369616e2055726e';

// RFC 9180 §A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode.
const A_1_1 = {
  aeadId: 0x0001,
  ikmE: '7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234',
  pkEm: '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431',
  skEm: '52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736',
  ikmR: '6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037',
  pkRm: '3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d',
  skRm: '4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8',
  enc: '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431',
  encryptions: [
    [0, 'f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a'],
    [1, 'af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab251c03d0c22a56b8ca42c2063b84'],
    [2, '498dfcabd92e8acedc281e85af1cb4e3e31c7dc394a1ca20e173cb72516491588d96a19ad4a683518973dcc180'],
    [4, '583bd32bc67a5994bb8ceaca813d369bca7b2a42408cddef5e22f880b631215a09fc0012bc69fccaa251c0246d'],
    [255, '7175db9717964058640a3a11fb9007941a5d1757fda1a6935c805c21af32505bf106deefec4a49ac38d71c9e0a'],
    [256, '957f9800542b0b8891badb026d79cc54597cb2d225b54c00c5238c25d05c30e3fbeda97d2e0e1aba483a2df9f2'],
  ],
  exports: [
    ['', '3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee'],
    ['00', '2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5'],
    ['54657374436f6e74657874', 'e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931'],
  ],
};

// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, base mode: the CFRG test-vectors.json entry
// (commit 5f503c5) that hpke_test.cpp uses for Cloister's default suite.
const CFRG_AES_256 = {
  aeadId: 0x0002,
  ikmE: '2cd7c601cefb3d42a62b04b7a9041494c06c7843818e0ce28a8f704ae7ab20f9',
  pkEm: '6c93e09869df3402d7bf231bf540fadd35cd56be14f97178f0954db94b7fc256',
  skEm: '179d4b53b6365c45b600c4163b61d95cbc2f4d9e36f1695558dce265ab8bab11',
  pkRm: '430f4b9859665145a6b1ba274024487bd66f03a2dd577d7753c68d7d7d00c00c',
  skRm: '497b4502664cfea5d5af0b39934dac72242a74f8480451e1aee7d6a53320333d',
  enc: '6c93e09869df3402d7bf231bf540fadd35cd56be14f97178f0954db94b7fc256',
  encryptions: [[0, 'e5d84cd531cfb583096e7cfa9641bd3079cf3a91cda813c52deb5f512be9931980a41de125a925cdad859d5b7a']],
  exports: [
    ['', 'ded6cffafaea6b812cbf3e241e88332adbc077aca81512914213810ee291770a'],
    ['00', '04d3cb6cc116b28ffd22ad5bc276c60d31fec71ceb87ae24db811c64b7507339'],
    ['54657374436f6e74657874', '7c5ded445732c14fe09727d29b4251c0fd38455fe8440571e687f0886aac94d2'],
  ],
};

// RFC 9180 §A.7.1: export-only AEAD.
const A_7_1 = {
  ikmE: '55bc245ee4efda25d38f2d54d5bb6665291b99f8108a8c4b686c2b14893ea5d9',
  pkRm: '194141ca6c3c3beb4792cd97ba0ea1faff09d98435012345766ee33aae2d7664',
  skRm: '33d196c830a12f9ac65d6e565a590d80f04ee9b19c83c87f2c170d972a812848',
  enc: 'e5e8f9bfff6c2f29791fc351d2c25ce1299aa5eaca78a757c0b4fb4bcd830918',
  exports: [
    ['', '7a36221bd56d50fb51ee65edfd98d06a23c4dc87085aa5866cb7087244bd2a36'],
    ['00', 'd5535b87099c6c3ce80dc112a2671c6ec8e811a2f284f948cec6dd1708ee33f0'],
    ['54657374436f6e74657874', 'ffaabc85a776136ca0c378e5d084c9140ab552b78f039d2e8775f26efff4c70e'],
  ],
};

async function serializedPair(suite, pair) {
  return {
    privateKey: toHex(await suite.kem.serializePrivateKey(pair.privateKey)),
    publicKey: toHex(await suite.kem.serializePublicKey(pair.publicKey)),
  };
}

test('RFC 9180 A.1.1: @hpke/core and the C++ DeriveKeyPair give the listed keys', async () => {
  const suite = suiteFor(A_1_1.aeadId);
  for (const [ikm, sk, pk] of [
    [A_1_1.ikmE, A_1_1.skEm, A_1_1.pkEm],
    [A_1_1.ikmR, A_1_1.skRm, A_1_1.pkRm],
  ]) {
    const js = await serializedPair(suite, await suite.kem.deriveKeyPair(fromHex(ikm)));
    assert.deepEqual(js, { privateKey: sk, publicKey: pk });
    const { code, answer } = await runTool(['derive-key-pair', ikm]);
    assert.equal(code, 0);
    assert.deepEqual(answer, { private_key: sk, public_key: pk });
  }
});

test('DeriveKeyPair agrees between @hpke/core and C++ for random ikm', async () => {
  const suite = suiteFor(0x0002);
  for (let i = 0; i < 5; i++) {
    const ikm = randomBytes(32 + i * 7);
    const js = await serializedPair(suite, await suite.kem.deriveKeyPair(ikm));
    const { code, answer } = await runTool(['derive-key-pair', toHex(ikm)]);
    assert.equal(code, 0);
    assert.deepEqual(answer, { private_key: js.privateKey, public_key: js.publicKey });
  }
});

for (const [name, vector] of [
  ['RFC 9180 A.1.1 (AES-128-GCM)', A_1_1],
  ['CFRG vector for AES-256-GCM', CFRG_AES_256],
]) {
  test(`${name}: @hpke/core reproduces enc, every listed ciphertext and export`, async () => {
    const suite = suiteFor(vector.aeadId);
    const ephemeral = await suite.kem.deriveKeyPair(fromHex(vector.ikmE));
    assert.deepEqual(await serializedPair(suite, ephemeral), { privateKey: vector.skEm, publicKey: vector.pkEm });

    const sender = await suite.createSenderContext({
      recipientPublicKey: await suite.kem.deserializePublicKey(fromHex(vector.pkRm)),
      info: fromHex(INFO),
      ekm: ephemeral,
    });
    assert.equal(toHex(sender.enc), vector.enc);
    const recipient = await suite.createRecipientContext({
      recipientKey: await suite.kem.deserializePrivateKey(fromHex(vector.skRm)),
      enc: fromHex(vector.enc),
      info: fromHex(INFO),
    });
    const listed = new Map(vector.encryptions);
    const last = Math.max(...listed.keys());
    for (let sequence = 0; sequence <= last; sequence++) {
      const aad = utf8(`Count-${sequence}`);
      const ciphertext = new Uint8Array(await sender.seal(fromHex(PLAINTEXT), aad));
      if (listed.has(sequence)) assert.equal(toHex(ciphertext), listed.get(sequence), `sequence ${sequence}`);
      assert.equal(toHex(await recipient.open(ciphertext, aad)), PLAINTEXT);
    }
    for (const [context, value] of vector.exports) {
      assert.equal(toHex(await sender.export(fromHex(context), 32)), value);
      assert.equal(toHex(await recipient.export(fromHex(context), 32)), value);
    }
  });
}

test('RFC 9180 A.7.1 (export-only): @hpke/core reproduces enc and every export', async () => {
  const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new ExportOnly() });
  const sender = await suite.createSenderContext({
    recipientPublicKey: await suite.kem.deserializePublicKey(fromHex(A_7_1.pkRm)),
    info: fromHex(INFO),
    ekm: await suite.kem.deriveKeyPair(fromHex(A_7_1.ikmE)),
  });
  assert.equal(toHex(sender.enc), A_7_1.enc);
  for (const [context, value] of A_7_1.exports) {
    assert.equal(toHex(await sender.export(fromHex(context), 32)), value);
  }
});

// ----------------------------------------------------------------------------------------------
// Sealed messages across the two implementations
// ----------------------------------------------------------------------------------------------

for (const aeadId of Object.keys(AEADS).map(Number)) {
  const aead = AEADS[aeadId].name;

  test(`${aead}: a request sealed with @hpke/core opens in C++, and C++'s response opens in JS`, async () => {
    const server = await toolKeyPair();
    const keyId = 0x17;
    const body = utf8(`{"patient":"Jane Roe","aead":"${aead}"}`);
    const request = await jsSealRequest(server.publicKey, keyId, aeadId, body);
    const responseBody = utf8('{"finding":"no acute abnormality"}');

    const { code, answer } = await runTool(
      ['open-request', toHex(server.privateKey), String(keyId)],
      [toHex(request.message), toHex(responseBody)],
    );
    assert.equal(code, 0, JSON.stringify(answer));
    assert.deepEqual(
      { keyId: answer.key_id, kem: answer.kem_id, kdf: answer.kdf_id, aead: answer.aead_id },
      { keyId, kem: KEM_ID, kdf: KDF_ID, aead: aeadId },
    );
    assert.equal(answer.plaintext, toHex(body));
    const response = fromHex(answer.response);
    assert.equal(response.length, responseSecretSize(aeadId) + responseBody.length + TAG_SIZE);
    assert.equal(toHex(request.openResponse(response)), toHex(responseBody));

    // The response is bound to this request: another JS request's keys cannot open it.
    const other = await jsSealRequest(server.publicKey, keyId, aeadId, body);
    assert.throws(() => other.openResponse(response));
  });

  test(`${aead}: a request sealed in C++ opens with @hpke/core, and JS's response opens in C++`, async () => {
    const server = await jsKeyPair();
    const keyId = 0xc3;
    const body = utf8(`request body for ${aead}`);
    const tool = startTool(['seal-request', toHex(server.publicKey), String(keyId), String(aeadId)]);
    tool.write(toHex(body));
    const { message } = await tool.nextLine();

    const opened = await jsOpenRequest(server.privateKey, keyId, fromHex(message));
    assert.equal(opened.keyId, keyId);
    assert.equal(opened.aeadId, aeadId);
    assert.equal(toHex(opened.plaintext), toHex(body));

    const responseBody = utf8(`response body for ${aead}`);
    tool.write(toHex(opened.sealResponse(responseBody)));
    tool.end();
    const answer = await tool.nextLine();
    const { code } = await tool.exited;
    assert.equal(code, 0, JSON.stringify(answer));
    assert.equal(answer.plaintext, toHex(responseBody));
  });
}

test('C++ refuses a tampered JS request, a wrong key id and a response meant for another request', async () => {
  const server = await toolKeyPair();
  const request = await jsSealRequest(server.publicKey, 5, 0x0002, utf8('tamper'));

  const tampered = Uint8Array.from(request.message);
  tampered[tampered.length - 1] ^= 0x01;
  let result = await runTool(['open-request', toHex(server.privateKey), '5'], [toHex(tampered), '']);
  assert.equal(result.code, 1);
  assert.equal(result.answer.error, 'hpke_open_failed');

  result = await runTool(['open-request', toHex(server.privateKey), '6'], [toHex(request.message), '']);
  assert.equal(result.code, 1);
  assert.equal(result.answer.error, 'hpke_unsupported_suite');

  // C++ seals a request; the response comes from a different JS-opened request.
  const jsServer = await jsKeyPair();
  const tool = startTool(['seal-request', toHex(jsServer.publicKey), '9', '2']);
  tool.write(toHex(utf8('mine')));
  await tool.nextLine();
  const unrelated = await jsSealRequest(jsServer.publicKey, 9, 0x0002, utf8('someone else'));
  const openedUnrelated = await jsOpenRequest(jsServer.privateKey, 9, unrelated.message);
  tool.write(toHex(openedUnrelated.sealResponse(utf8('not for you'))));
  tool.end();
  const answer = await tool.nextLine();
  const { code } = await tool.exited;
  assert.equal(code, 1);
  assert.equal(answer.error, 'hpke_open_failed');
});

test('@hpke/core refuses a tampered C++ request', async () => {
  const server = await jsKeyPair();
  const tool = startTool(['seal-request', toHex(server.publicKey), '1', '2']);
  tool.write(toHex(utf8('tamper')));
  const { message } = await tool.nextLine();
  tool.end();
  await tool.exited;
  const tampered = fromHex(message);
  tampered[HEADER_SIZE + ENC_SIZE] ^= 0x01;
  await assert.rejects(jsOpenRequest(server.privateKey, 1, tampered));
  // Changing the suite in the header changes the HPKE info, so even a valid suite fails.
  const relabelled = fromHex(message);
  relabelled[6] = 0x01;
  await assert.rejects(jsOpenRequest(server.privateKey, 1, relabelled));
});
