// What the portal's end-to-end tests run against, all real and all on loopback:
//   - `cloister up` on free ports in a fresh state directory (every service, Redis, the portal);
//   - Debian's Chromium (playwright-core), trusting the development CA through an NSS database in a
//     throw-away HOME — no certificate errors are ignored;
//   - an nginx ingress terminating TLS in front of the platform and logging every request and
//     response body (Lua body filter), as a curious cloud ingress could.
// Every process is stopped by its pid; every wait is bounded.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { chromium } from 'playwright-core';

export const BIN = process.env.CLOISTER_BIN ?? join(process.cwd(), 'build/bin');
export const ARTIFACTS = process.env.CLOISTER_ARTIFACTS ?? join(process.cwd(), 'build/test-artifacts/portal');
export const CHROMIUM = process.env.CLOISTER_CHROMIUM ?? '/usr/bin/chromium';
export const NGINX = '/usr/sbin/nginx';
export const DICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm';

const START_TIMEOUT_MS = 120_000;

async function waitFor(what, probe, timeoutMs, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

function stopChild(child, signal = 'SIGTERM', graceMs = 20_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      process.kill(child.pid, signal);
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// `cloister up` on free ports; resolves once endpoints.json exists (it is written last, once
// everything is ready). restart() stops it with Ctrl-C (SIGINT) and starts it again on the same state.
async function runUp(state, extra) {
  const endpointsFile = join(state, 'endpoints.json');
  rmSync(endpointsFile, { force: true });
  const child = spawn(join(BIN, 'cloister'), ['up', '--state-dir', state, '--base-port', '0', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  await waitFor(
    'cloister up',
    () => {
      if (child.exitCode !== null) throw new Error(`cloister up exited (${child.exitCode}): ${output}`);
      return existsSync(endpointsFile) && output.includes('Press Ctrl-C');
    },
    START_TIMEOUT_MS,
  );
  const endpoints = JSON.parse(readFileSync(endpointsFile, 'utf8'));
  assert.ok(endpoints.portal, `cloister up serves no portal: ${output}`);
  return { child, endpoints, output: () => output };
}

// options.binDir: the service binaries to run (default: BIN); options.portalConfig: a hospital
// configuration file to serve instead of the one cloister up writes (it may be written later).
export async function startPlatform(options = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-e2e-'));
  const state = join(dir, 'state');
  const extra = [];
  if (options.binDir) extra.push('--bin-dir', options.binDir);
  if (options.portalConfig) extra.push('--portal-config', options.portalConfig);
  const configOf = (endpoints) =>
    existsSync(endpoints.portal_config) ? JSON.parse(readFileSync(endpoints.portal_config, 'utf8')) : null;
  let run = await runUp(state, extra);
  const platform = {
    dir,
    state,
    endpoints: run.endpoints,
    credentials: JSON.parse(readFileSync(join(state, 'platform', 'demo-credentials.json'), 'utf8')),
    configFile: run.endpoints.portal_config,
    generatedConfig: configOf(run.endpoints),
    console: () => run.output(),
    // The hospital's configuration the portal serves (read at each request).
    setConfig(config) {
      writeFileSync(platform.configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    },
    // Ctrl-C, then the same state again (new ports); resolves with the exit code of the first run.
    async restart() {
      await stopChild(run.child, 'SIGINT', 30_000);
      const code = run.child.exitCode;
      run = await runUp(state, extra);
      platform.endpoints = run.endpoints;
      platform.generatedConfig = configOf(run.endpoints);
      return code;
    },
    async stop() {
      await stopChild(run.child, 'SIGINT', 30_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return platform;
}

// A HOME whose NSS database trusts the development CA: Chromium then verifies every certificate.
export function trustingHome(caFile) {
  const home = mkdtempSync(join(tmpdir(), 'cloister-e2e-home-'));
  const db = join(home, '.pki', 'nssdb');
  mkdirSync(db, { recursive: true });
  execFileSync('certutil', ['-d', `sql:${db}`, '-N', '--empty-password'], { stdio: 'ignore' });
  execFileSync('certutil', ['-d', `sql:${db}`, '-A', '-t', 'C,,', '-n', 'cloister-dev-ca', '-i', caFile], { stdio: 'ignore' });
  return home;
}

export async function launchBrowser(home) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    env: { ...process.env, HOME: home },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

// nginx terminating TLS (a certificate from the development CA) and proxying to the platform over
// TLS, logging request and response bodies and the Authorization header.
export async function startIngress(platformUrl, state) {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-e2e-nginx-'));
  const port = await freePort();
  const ca = join(state, 'ca.pem');
  const caKey = join(state, 'ca-key.pem');
  const key = join(dir, 'proxy.key');
  const csr = join(dir, 'proxy.csr');
  const cert = join(dir, 'proxy.crt');
  const ext = join(dir, 'proxy.ext');
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  execFileSync('openssl', ['req', '-new', '-key', key, '-subj', '/CN=ingress', '-out', csr]);
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-days', '1',
    '-extfile', ext, '-out', cert], { stdio: 'ignore' });
  for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const upstream = new URL(platformUrl);
  const accessLog = join(dir, 'access.log');
  const conf = `
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
user root;
worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  lua_package_path "/usr/share/lua/5.1/?.lua;;";
  log_format bodies escape=json '{"time":"$time_iso8601","request":"$request","status":$status,'
    '"origin":"$http_origin","authorization":"$http_authorization","content_type":"$content_type",'
    '"request_body":"$request_body","response_body":"$response_body"}';
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    client_max_body_size 80m;
    client_body_buffer_size 80m;
    client_body_in_single_buffer on;
    set $response_body "";
    body_filter_by_lua_block {
      local chunk = ngx.arg[1]
      if chunk and #chunk > 0 then ngx.ctx.body = (ngx.ctx.body or "") .. chunk end
      if ngx.arg[2] then ngx.var.response_body = ngx.ctx.body or "" end
    }
    access_log ${accessLog} bodies;
    location / {
      proxy_pass https://127.0.0.1:${upstream.port};
      proxy_ssl_trusted_certificate ${ca};
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
      proxy_http_version 1.1;
      proxy_request_buffering on;
    }
  }
}
`;
  const confFile = join(dir, 'nginx.conf');
  writeFileSync(confFile, conf);
  const child = spawn(NGINX, ['-p', dir, '-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const url = `https://127.0.0.1:${port}`;
  await waitFor(
    'nginx',
    async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${output}`);
      const probe = spawn('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', ca, `${url}/healthz`]);
      let code = '';
      probe.stdout.on('data', (chunk) => {
        code += chunk;
      });
      await new Promise((resolve) => probe.once('exit', resolve));
      return code === '200';
    },
    30_000,
  );
  return {
    url,
    accessLog,
    log: () => (existsSync(accessLog) ? readFileSync(accessLog, 'utf8') : ''),
    async stop() {
      await stopChild(child, 'SIGQUIT', 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A bin directory whose cloister-platform is another build: the same program with bytes appended,
// so its measurement (SHA-384 of the executable) is not the approved one. The other binaries are links.
export function rogueBinDir() {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-e2e-rogue-'));
  for (const binary of ['cloister-attest', 'cloister-keys', 'cloister-infer']) symlinkSync(join(BIN, binary), join(dir, binary));
  const platform = join(dir, 'cloister-platform');
  copyFileSync(join(BIN, 'cloister-platform'), platform);
  appendFileSync(platform, 'an unapproved build\n');
  chmodSync(platform, 0o755);
  return dir;
}

// The platform's count of requests to a route (its Prometheus metrics, read with the CA).
export function requestCount(platformUrl, caFile, route) {
  const text = execFileSync('curl', ['-s', '--cacert', caFile, `${platformUrl}/metrics`], { encoding: 'utf8' });
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cloister_http_requests_total{') && line.includes(`route="${route}"`)) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}
