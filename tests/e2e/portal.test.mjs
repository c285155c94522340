// The hospital portal end to end, in Debian's Chromium (playwright-core), against a real `cloister up`
// (every service, Redis, the demo models; sim TEE) — docs/portal.md "Tests".
//
//   CLOISTER_BIN=build/bin CLOISTER_ARTIFACTS=build/test-artifacts/portal node --test tests/e2e/portal.test.mjs
//
// 1. Through an nginx ingress that terminates TLS and logs every body: the trust panel verifies the
//    platform; a clerk logs in, creates a canary patient, uploads CT_small.dcm for two models; a
//    clinician (keyboard only) opens the reports (DICOM with window/level, segmentation overlay,
//    probability chart, receipt). The ingress's log then holds no plaintext of the canary, the
//    password, the session or the DICOM's identifiers — and it did log bodies (the public evidence).
// 2. A platform running a build the hospital did not approve (its measurement differs; evidence and
//    token are genuine): the portal refuses, names the failed check, offers no login, and that
//    platform receives no sealed request, not even a preflight.
// 3. `cloister submit` verifies, uploads and saves the FHIR report; refuses an unexpected platform.
// 4. Ctrl-C on `cloister up`, started again on the same state: what was accepted is still there.
// Screenshots of the main screens go to CLOISTER_ARTIFACTS (laptop and tablet widths); axe-core
// checks each screen for serious accessibility violations.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import {
  ARTIFACTS,
  BIN,
  DICOM,
  launchBrowser,
  requestCount,
  rogueBinDir,
  startIngress,
  startPlatform,
  trustingHome,
} from './harness.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const LAPTOP = { width: 1366, height: 768 };
const TABLET = { width: 768, height: 1024 };
const VERIFY_TIMEOUT_MS = 30_000;
const DIAGNOSIS_TIMEOUT_MS = 180_000;

let platform;
let browser;
let submitted; // what test 3 submitted, for test 4
let home;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  platform = await startPlatform();
  home = trustingHome(platform.endpoints.ca);
  browser = await launchBrowser(home);
});

after(async () => {
  await browser?.close();
  await platform?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// axe-core in the page: no serious or critical violation (WCAG 2 A/AA rules).
async function assertAccessible(page, screen) {
  // Evaluated through the DevTools protocol: the page's CSP (rightly) forbids injected scripts.
  if (!(await page.evaluate(() => typeof globalThis.axe === "object"))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const results = await globalThis.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa'] } });
    return results.violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join(', ')})`);
  });
  assert.deepEqual(violations, [], `accessibility violations on the ${screen} screen`);
}

async function openPortal(page) {
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(platform.endpoints.portal);
  return errors;
}

async function waitVerified(page) {
  await page.locator('#trust-status').filter({ hasText: 'Verified' }).waitFor({ timeout: VERIFY_TIMEOUT_MS });
}

async function login(page, username, password) {
  await page.fill('#login-username', username);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
  await page.locator('#session-user').filter({ hasText: username }).waitFor({ timeout: VERIFY_TIMEOUT_MS });
}

async function logout(page) {
  await page.click('#logout');
  await page.locator('#login-form').waitFor({ state: 'visible', timeout: VERIFY_TIMEOUT_MS });
}

async function waitStudiesCompleted(page, count) {
  await page.waitForFunction(
    (n) => {
      const rows = [...document.querySelectorAll('#studies-body tr[data-study-id]')];
      const failed = rows.filter((row) => row.dataset.state === 'dead_letter');
      if (failed.length > 0) throw new Error(`a study failed: ${failed[0].textContent}`);
      return rows.filter((row) => row.dataset.state === 'completed').length >= n;
    },
    count,
    { timeout: DIAGNOSIS_TIMEOUT_MS, polling: 500 },
  );
}

test('through a body-logging ingress: verify, log in, create a patient, upload DICOM, read the reports', async () => {
  const ingress = await startIngress(platform.endpoints.platform, platform.state);
  try {
    platform.setConfig({ ...platform.generatedConfig, platform_url: ingress.url });
    const context = await browser.newContext({ viewport: LAPTOP });
    const page = await context.newPage();
    const pageErrors = await openPortal(page);

    // The trust panel: every check passed, the simulated TEE said loudly.
    await waitVerified(page);
    await assert.doesNotReject(page.locator('#simulated-banner').waitFor({ state: 'visible', timeout: 5_000 }));
    const checks = await page.locator('#trust-checks-body tr').count();
    assert.ok(checks >= 13, `the trust panel lists every check (${checks})`);
    assert.equal(await page.locator('#trust-checks-body tr[data-ok="false"]').count(), 0);
    assert.equal(await page.locator('#trust-panel').getAttribute('data-verified'), 'true');
    await shot(page, '01-trust-panel-and-login');
    await page.screenshot({ path: join(ARTIFACTS, '01b-first-screen.png') });
    await assertAccessible(page, 'login');

    // The clerk: a canary patient, then CT_small.dcm for the classifier and the segmenter.
    const tag = randomBytes(4).toString('hex');
    const canary = {
      family: `Canaryfamily${tag}`,
      given: `Zebulon${tag}`,
      mrn: `CANARY-MRN-${tag}`,
      phone: `+41 79 555 ${tag.slice(0, 4)}`,
    };
    await login(page, 'clerk', platform.credentials.clerk);
    await page.fill('#patient-family', canary.family);
    await page.fill('#patient-given', canary.given);
    await page.fill('#patient-birthdate', '1961-07-14');
    await page.selectOption('#patient-gender', 'female');
    await page.fill('#patient-mrn', canary.mrn);
    await page.fill('#patient-phone', canary.phone);
    await page.click('#patient-create');
    await page.locator('#selected-patient').filter({ hasText: canary.family }).waitFor({ timeout: VERIFY_TIMEOUT_MS });
    await shot(page, '02-patient-created');
    await assertAccessible(page, 'patient');

    for (const model of ['demo-chest-classifier', 'demo-lung-segmenter']) {
      await page.setInputFiles('#upload-file', DICOM);
      await page.selectOption('#upload-model', model);
      await page.click('#upload-submit');
      await page.locator('#studies-body tr', { hasText: model }).first().waitFor({ timeout: VERIFY_TIMEOUT_MS });
    }
    await waitStudiesCompleted(page, 2);
    await shot(page, '03-studies-completed');
    await logout(page);

    // The clinician, with the keyboard only: tab to the user name, type, Enter.
    await page.locator('body').focus();
    let reached = false;
    for (let i = 0; i < 40 && !reached; i += 1) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.id === 'login-username');
    }
    assert.ok(reached, 'the user name field is reachable with Tab');
    await page.keyboard.type('doctor');
    await page.keyboard.press('Tab');
    await page.keyboard.type(platform.credentials.doctor);
    await page.keyboard.press('Enter');
    await page.locator('#session-user').filter({ hasText: 'doctor' }).waitFor({ timeout: VERIFY_TIMEOUT_MS });

    // The classifier's report: the DICOM on a canvas, the probability chart, the receipt.
    await page.locator('#studies-body tr[data-study-id]', { hasText: 'demo-chest-classifier' }).locator('.open-report').click();
    await page.locator('#report-canvas').waitFor({ timeout: VERIFY_TIMEOUT_MS });
    await page.locator('#findings-chart').waitFor({ timeout: VERIFY_TIMEOUT_MS });
    await page.locator('#receipt-checks li').first().waitFor({ state: 'attached', timeout: VERIFY_TIMEOUT_MS });
    assert.equal(await page.locator('#receipt-checks li[data-ok="false"]').count(), 0, 'every receipt check passed');
    const report = await page.locator('#report-body').innerText();
    assert.match(report, /effusion|nodule|normal/i, 'the findings are shown');
    assert.match(report, /receipt/i, 'the receipt is shown');
    assert.match(report, /Demonstration only/i, 'the intended-use disclaimer is shown');
    const rendered = await page.evaluate(() => {
      const canvas = document.querySelector('#report-canvas');
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let lit = 0;
      for (let i = 0; i < pixels.length; i += 4) if (pixels[i] > 16) lit += 1;
      return { width: canvas.width, height: canvas.height, lit };
    });
    assert.equal(rendered.width, 128, 'CT_small is 128 columns');
    assert.ok(rendered.lit > 1000, `the DICOM pixels are drawn (${rendered.lit} lit)`);
    await shot(page, '04-report-classification');
    await assertAccessible(page, 'report');

    // The segmenter's report: the mask over the image.
    await page.locator('#studies-body tr[data-study-id]', { hasText: 'demo-lung-segmenter' }).locator('.open-report').click();
    await page.locator('#segmentation-table').waitFor({ timeout: VERIFY_TIMEOUT_MS });
    await page.locator('#mask-legend').waitFor({ timeout: VERIFY_TIMEOUT_MS });
    // The mask is painted over the image, at the image's size, and the toggle hides it.
    const mask = await page.evaluate(() => {
      const canvas = document.querySelector('#mask-canvas');
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted += 1;
      const base = document.querySelector('#report-canvas');
      return { painted, same: canvas.width === base.width && canvas.height === base.height };
    });
    assert.ok(mask.painted > 0, 'the segmentation mask paints pixels');
    assert.ok(mask.same, 'the mask has the image size');
    await page.click('#mask-toggle');
    assert.equal(await page.locator('#mask-canvas').isVisible(), false, 'the toggle hides the overlay');
    await page.click('#mask-toggle');
    await shot(page, '05-report-segmentation');
    await page.locator('#report-section').screenshot({ path: join(ARTIFACTS, '05b-report-section.png') });

    // Tablet width: no horizontal scrolling.
    await page.setViewportSize(TABLET);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `no horizontal scroll at tablet width (${overflow}px)`);
    await shot(page, '06-report-tablet');
    assert.deepEqual(pageErrors, [], 'no script errors');
    await context.close();

    // What the ingress saw: sealed bytes only.
    const log = ingress.log();
    const lines = log.trim().split('\n').map((line) => JSON.parse(line));
    const sealed = lines.filter((line) => line.request.startsWith('POST /v1/sealed'));
    assert.ok(sealed.length >= 8, `the flow went through the ingress (${sealed.length} sealed requests)`);
    assert.ok(
      lines.some((line) => line.request.startsWith('GET /v1/attestation') && line.response_body.includes('runtime_data')),
      'the ingress logged response bodies (the public evidence is there in the clear)',
    );
    assert.ok(sealed.every((line) => line.request_body.length > 0 && line.response_body.length > 0), 'sealed bodies were logged');
    const secrets = {
      ...canary,
      'clerk password': platform.credentials.clerk,
      'doctor password': platform.credentials.doctor,
      'session token prefix': 'cls_',
      'DICOM patient name': 'CompressedSamples',
      'DICOM study UID': '1.3.6.1.4.1.5962.1.2.1.20040119072730.12322',
      'FHIR resource': 'resourceType',
      'findings': 'probability',
    };
    const haystack = log.toLowerCase();
    for (const [what, value] of Object.entries(secrets)) {
      assert.ok(!haystack.includes(value.toLowerCase()), `the ingress log holds the ${what}`);
    }
    writeFileSync(join(ARTIFACTS, 'ingress-access.log'), log);
  } finally {
    await ingress.stop();
    platform.setConfig(platform.generatedConfig);
  }
});

test('a platform build the hospital does not expect: the portal refuses, names the check, the platform receives nothing', async () => {
  // A second deployment whose cloister-platform is another build (appended bytes: another
  // measurement). Everything else is as before: it gets its data key (cloister up pins the key to
  // the build it runs), its token, and serves. The hospital's configuration still names the approved
  // build — the first platform's measurement — with this deployment's URLs.
  const binDir = rogueBinDir();
  const hospitalFile = join(platform.dir, 'rogue-hospital.json');
  const rogue = await startPlatform({ binDir, portalConfig: hospitalFile });
  let rogueHome;
  let rogueBrowser;
  try {
    rogue.setConfig({
      ...platform.generatedConfig,
      platform_url: rogue.endpoints.platform,
      attestation_url: rogue.endpoints.attest,
    });
    // Its own development CA: a browser that trusts that one.
    rogueHome = trustingHome(rogue.endpoints.ca);
    rogueBrowser = await launchBrowser(rogueHome);
    const context = await rogueBrowser.newContext({ viewport: LAPTOP });
    const page = await context.newPage();
    await page.goto(rogue.endpoints.portal);
    await page.locator('#trust-refusal').waitFor({ state: 'visible', timeout: VERIFY_TIMEOUT_MS });
    const refusal = await page.locator('#trust-refusal').innerText();
    assert.match(refusal, /measurement/i, 'the refusal names the failed check');
    const failed = await page.locator('#trust-failed-list li[data-check]').evaluateAll((items) => items.map((li) => li.dataset.check));
    assert.deepEqual(failed, ['measurement'], 'only the measurement failed: the evidence and the token are genuine');
    assert.equal(await page.locator('#trust-panel').getAttribute('data-verified'), 'false');
    assert.ok(!(await page.locator('#login-form').isVisible()) || (await page.locator('#login-submit').isDisabled()),
      'no login is offered');
    await shot(page, '07-refused-unexpected-measurement');
    await assertAccessible(page, 'refusal');
    await context.close();
    // The platform served its evidence, and nothing else reached it.
    assert.ok(requestCount(rogue.endpoints.platform, rogue.endpoints.ca, '/v1/attestation') >= 1, 'the evidence was fetched');
    assert.equal(requestCount(rogue.endpoints.platform, rogue.endpoints.ca, '/v1/sealed'), 0, 'no sealed request');
    assert.equal(requestCount(rogue.endpoints.platform, rogue.endpoints.ca, '(preflight)'), 0, 'not even a preflight');
  } finally {
    await rogueBrowser?.close();
    await rogue.stop();
    rmSync(binDir, { recursive: true, force: true });
    if (rogueHome) rmSync(rogueHome, { recursive: true, force: true });
  }
});

test('cloister submit: verifies, uploads, saves the FHIR report; refuses an unexpected platform', () => {
  const dir = join(platform.dir, 'submit');
  mkdirSync(dir, { recursive: true });
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${platform.credentials.scripts}\n`, { mode: 0o600 });
  const mrn = `SUBMIT-${randomBytes(3).toString('hex')}`;
  const patientFile = join(dir, 'patient.json');
  writeFileSync(patientFile, JSON.stringify({
    resourceType: 'Patient',
    identifier: [{ system: 'urn:cloister:mrn', value: mrn }],
    name: [{ family: 'Scripted', given: ['Sam'] }],
    gender: 'male',
    birthDate: '1950-05-05',
  }));
  const args = (config) => ['submit', '--hospital', config, '--ca', platform.endpoints.ca, '--user', 'scripts',
    '--password-file', passwordFile, '--patient', mrn, '--patient-file', patientFile, '--model', 'demo-chest-classifier',
    '--out', dir, '--no-progress', DICOM];

  const ok = spawnSync(join(BIN, 'cloister'), args(platform.configFile), { encoding: 'utf8', timeout: 240_000 });
  submitted = { mrn, dir, passwordFile };
  assert.equal(ok.status, 0, `cloister submit: ${ok.stdout}\n${ok.stderr}`);
  assert.match(ok.stderr, /platform verified: tee sim/);
  const [id, verdict, file] = ok.stdout.trim().split('\t');
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.match(verdict, /^(positive|negative)$/);
  const bundle = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(bundle.resourceType, 'Bundle');
  assert.ok(bundle.entry.some((entry) => entry.resource.resourceType === 'DiagnosticReport'));

  const wrongConfig = join(dir, 'wrong.json');
  writeFileSync(wrongConfig, JSON.stringify({
    ...platform.generatedConfig,
    expected: { ...platform.generatedConfig.expected, measurements: ['cd'.repeat(48)] },
  }));
  const sealedBefore = requestCount(platform.endpoints.platform, platform.endpoints.ca, '/v1/sealed');
  const refused = spawnSync(join(BIN, 'cloister'), args(wrongConfig), { encoding: 'utf8', timeout: 60_000 });
  assert.equal(refused.status, 3, `cloister submit must refuse: ${refused.stdout}\n${refused.stderr}`);
  assert.match(refused.stderr, /REFUSED — policy_measurement_not_allowed/);
  assert.equal(requestCount(platform.endpoints.platform, platform.endpoints.ca, '/v1/sealed'), sealedBefore);
});

test('Ctrl-C stops everything; started again, what was accepted is still there', async (t) => {
  if (!submitted) {
    t.skip('needs the patient the cloister submit test created');
    return;
  }
  const code = await platform.restart();
  assert.equal(code, 0, 'cloister up exits 0 on Ctrl-C');
  // No --patient-file: the patient must be found, decrypted with the same data key.
  const run = spawnSync(join(BIN, 'cloister'), ['submit', '--hospital', platform.configFile, '--ca', platform.endpoints.ca,
    '--user', 'scripts', '--password-file', submitted.passwordFile, '--patient', submitted.mrn,
    '--model', 'demo-lung-segmenter', '--out', submitted.dir, '--no-progress', DICOM], { encoding: 'utf8', timeout: 240_000 });
  assert.equal(run.status, 0, `after the restart: ${run.stdout}\n${run.stderr}`);
  assert.doesNotMatch(run.stderr, /created patient/, 'the patient was found, not created again');
});
