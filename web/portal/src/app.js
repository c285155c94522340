// The hospital portal. Nothing leaves this page before verifyPlatform (trust.js) has checked the
// platform's attestation against the hospital's configuration; everything after that goes through
// SealedClient (sealed.js): HPKE-sealed to the attested key, inside POST /v1/sealed.
import { badge, byId, clear, formatTime, h, shortId } from './dom.js';
import { SealedClient } from './sealed.js';
import { loadConfig, verifyPlatform } from './trust.js';
import { renderReport } from './views/report_view.js';
import { renderExpiry, renderPending, renderTrust } from './views/trust_view.js';

const kPollMs = 2000;
const kDefaultIdentifierSystem = 'urn:cloister:mrn';
const kStateText = {
  queued: 'Queued',
  running: 'Running',
  completed: 'Completed',
  dead_letter: 'Failed (dead letter)',
};
const kStateBadge = { queued: 'pending', running: 'pending', completed: 'pass', dead_letter: 'fail' };

const state = {
  config: null,
  trust: null,
  client: null,
  clientKey: null,
  verifying: null,
  user: null,
  roles: new Set(),
  patient: null,
  patientNames: new Map(),
  studies: [],
  studyStates: new Map(),
  pollTimer: null,
  reverifyTimer: null,
  reverifyAt: null,
  countdownTimer: null,
  reportStudy: null,
};

class ApiError extends Error {
  constructor(status, problem) {
    const title = problem?.title ?? `HTTP ${status}`;
    super(problem?.detail ? `${title}: ${problem.detail}` : title);
    this.status = status;
    this.problem = problem ?? null;
    this.code = problem?.code ?? null;
  }
}

// ---------------------------------------------------------------- messages

function announce(text) {
  const live = byId('status-live');
  live.textContent = '';
  // A fresh text node so screen readers announce repeated messages too.
  window.setTimeout(() => {
    live.textContent = text;
  }, 50);
}

function clearAlert() {
  clear(byId('alert'));
}

function showError(context, error) {
  const alert = clear(byId('alert'));
  const problem = error?.problem;
  const parts = [h('strong', { class: 'alert-title' }, context)];
  if (problem) {
    parts.push(h('span', { class: 'alert-problem', id: 'alert-problem-title' }, ` ${problem.title ?? `HTTP ${error.status}`}`));
    if (problem.detail) parts.push(h('span', { class: 'alert-detail', id: 'alert-problem-detail' }, ` \u2014 ${problem.detail}`));
    if (problem.code) parts.push(' ', h('code', { id: 'alert-problem-code' }, problem.code));
  } else {
    parts.push(` ${error?.message ?? String(error)}`);
    if (error?.code) parts.push(' ', h('code', { id: 'alert-problem-code' }, error.code));
  }
  alert.append(
    h('p', {}, badge('fail', 'Error'), ' ', parts),
    h('button', { type: 'button', class: 'secondary small', id: 'alert-dismiss', onclick: clearAlert }, 'Dismiss'),
  );
}

// ---------------------------------------------------------------- sealed calls

function minValidityMs() {
  const v = state.config?.expected?.min_token_validity_s;
  return (Number.isInteger(v) ? v : 30) * 1000;
}

async function ensureVerified() {
  const trust = state.trust;
  if (!trust?.ok || !state.client) throw new Error('the platform is not verified: nothing is sent');
  if (Number.isFinite(trust.expiresAt) && trust.expiresAt - Date.now() < minValidityMs()) {
    await verify();
    if (!state.trust?.ok || !state.client) throw new Error('the platform is no longer verified: nothing is sent');
  }
}

async function api(method, target, options = {}) {
  await ensureVerified();
  const answer = await state.client.call(method, target, options);
  if (answer.status >= 400) {
    const problem = answer.problem ?? answer.json();
    if (answer.status === 401 && state.user && target !== '/v1/login') {
      endSession('Your session has ended; please sign in again.');
    }
    throw new ApiError(answer.status, problem && typeof problem === 'object' ? problem : null);
  }
  return answer;
}

// ---------------------------------------------------------------- trust

function sameKey(a, b) {
  return a instanceof Uint8Array && b instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i]);
}

function scheduleReverify() {
  window.clearTimeout(state.reverifyTimer);
  state.reverifyTimer = null;
  state.reverifyAt = null;
  const trust = state.trust;
  if (trust?.ok && Number.isFinite(trust.expiresAt)) {
    // Before the token gets too close to its end: min validity plus a margin, at least 5 s from now.
    const at = Math.max(Date.now() + 5000, trust.expiresAt - minValidityMs() - 15000);
    state.reverifyAt = at;
    state.reverifyTimer = window.setTimeout(() => verify({ automatic: true }), at - Date.now());
  }
  window.clearInterval(state.countdownTimer);
  const tick = () => renderExpiry(state.trust, { nextCheck: state.reverifyAt });
  tick();
  state.countdownTimer = window.setInterval(tick, 1000);
}

async function verify({ automatic = false } = {}) {
  if (state.verifying) return state.verifying;
  state.verifying = (async () => {
    renderPending(automatic ? 'Re-verifying the platform before its token expires\u2026' : 'Verifying the platform\u2026');
    const result = await verifyPlatform(state.config);
    state.trust = result;
    renderTrust(result);
    if (!result.ok) {
      const wasSignedIn = Boolean(state.user);
      state.client = null;
      state.clientKey = null;
      resetSession();
      announce(`Platform verification failed: ${result.failed.join(', ') || result.error}. Nothing will be sent.`);
      if (wasSignedIn) showError('Signed out: the platform no longer passes verification.', new Error(`failed checks: ${result.failed.join(', ')}`));
    } else {
      if (!state.client || !sameKey(state.clientKey, result.hpkePublicKey)) {
        if (state.user) {
          resetSession();
          showError('The platform\u2019s attested key changed (it restarted): please sign in again.', new Error('new attested key'));
        }
        state.client = new SealedClient(state.config.platform_url, result.hpkePublicKey);
        state.clientKey = result.hpkePublicKey;
      }
      announce(automatic ? 'Platform re-verified.' : 'Platform verified.');
    }
    scheduleReverify();
    updateLayout();
    return result;
  })();
  try {
    return await state.verifying;
  } finally {
    state.verifying = null;
  }
}

// ---------------------------------------------------------------- layout and session

function hasRole(role) {
  return state.roles.has(role);
}

function updateLayout() {
  const verified = Boolean(state.trust?.ok && state.client);
  const signedIn = verified && Boolean(state.user);
  byId('login-section').hidden = !verified || signedIn;
  byId('login-submit').disabled = !verified;
  byId('workspace').hidden = !signedIn;
  byId('section-nav').hidden = !signedIn;
  byId('session-bar').hidden = !signedIn;
  // Before sign-in the checks are the page; after it, a compact bar the user may open.
  const details = byId('trust-details');
  if (signedIn && details.dataset.autoClosed !== 'true') {
    details.open = !verified;
    details.dataset.autoClosed = 'true';
  }
  if (!signedIn) {
    details.open = true;
    details.dataset.autoClosed = 'false';
  }
  byId('trust-panel').classList.toggle('compact', signedIn);
  if (!signedIn) return;

  const clerk = hasRole('clerk');
  const clinician = hasRole('clinician');
  byId('session-user').textContent = `${state.user.username} (${state.user.tenant ?? state.config.tenant})`;
  byId('session-roles').textContent = `roles: ${[...state.roles].join(', ') || 'none'}`;
  byId('patient-section').hidden = !(clerk || clinician);
  byId('nav-patients').hidden = !(clerk || clinician);
  byId('patient-form').hidden = !clerk;
  byId('patient-section').classList.toggle('wide', !clerk);
  byId('upload-section').hidden = !clerk;
  byId('nav-upload').hidden = !clerk;
  byId('studies-section').hidden = !(clerk || clinician);
  byId('nav-studies').hidden = !(clerk || clinician);
  byId('report-role-note').hidden = clinician || !clerk;
  byId('nav-report').hidden = !clinician || byId('report-section').hidden;
  updateUploadState();
}

function resetSession() {
  state.user = null;
  state.roles = new Set();
  state.patient = null;
  state.studies = [];
  state.studyStates = new Map();
  state.patientNames = new Map();
  state.reportStudy = null;
  stopPolling();
  clear(byId('studies-body'));
  clear(byId('patient-results'));
  clear(byId('report-body'));
  byId('report-section').hidden = true;
  // No patient data stays in the page after the session: the forms too.
  for (const form of ['patient-form', 'patient-search-form', 'upload-form']) byId(form).reset();
  setPatient(null);
}

function endSession(message) {
  resetSession();
  updateLayout();
  showError(message, new Error('session ended'));
}

async function login(event) {
  event.preventDefault();
  clearAlert();
  const username = byId('login-username').value.trim();
  const password = byId('login-password').value;
  if (!username || !password) {
    showError('Sign-in needs a user name and a password.', new Error('missing field'));
    return;
  }
  const button = byId('login-submit');
  button.disabled = true;
  try {
    await ensureVerified();
    const answer = await state.client.login(state.config.tenant, username, password);
    byId('login-password').value = '';
    state.user = { tenant: answer.user?.tenant ?? state.config.tenant, username: answer.user?.username ?? username };
    state.roles = new Set(Array.isArray(answer.user?.roles) ? answer.user.roles : answer.roles ?? []);
    updateLayout();
    announce(`Signed in as ${state.user.username}.`);
    await afterLogin();
  } catch (error) {
    showError('Sign-in failed.', error);
  } finally {
    button.disabled = !state.trust?.ok;
  }
}

async function afterLogin() {
  if (hasRole('clerk')) {
    await loadModels().catch((error) => showError('Could not load the diagnostic models.', error));
  }
  if (hasRole('clerk') || hasRole('clinician')) {
    await refreshStudies().catch((error) => showError('Could not load the studies.', error));
  }
  const target = hasRole('clerk') ? byId('patient-family') : byId('patient-search-mrn');
  if (!byId('workspace').hidden) target.focus();
}

async function logout() {
  clearAlert();
  try {
    if (state.client?.session) await state.client.logout();
  } catch (error) {
    showError('Logout could not reach the platform; the session was dropped here.', error);
  }
  resetSession();
  updateLayout();
  announce('Signed out.');
  byId('login-username').focus();
}

// ---------------------------------------------------------------- patients

function identifierSystem() {
  return state.config?.identifier_system || kDefaultIdentifierSystem;
}

function patientName(resource) {
  const name = resource?.name?.[0];
  if (!name) return '(no name)';
  const given = Array.isArray(name.given) ? name.given.join(' ') : '';
  return [name.family ? name.family.toUpperCase() : '', given].filter(Boolean).join(', ') || name.text || '(no name)';
}

function patientMrn(resource) {
  const system = identifierSystem();
  const ids = resource?.identifier ?? [];
  return (ids.find((i) => i.system === system) ?? ids[0])?.value ?? '';
}

function rememberPatient(resource) {
  if (resource?.id) state.patientNames.set(resource.id, `${patientName(resource)} (MRN ${patientMrn(resource)})`);
}

function setPatient(resource) {
  state.patient = resource ?? null;
  const el = byId('selected-patient');
  if (resource) {
    rememberPatient(resource);
    el.textContent = `${patientName(resource)} \u2014 MRN ${patientMrn(resource)}, born ${resource.birthDate ?? '?'}, ${resource.gender ?? '?'} (id ${resource.id})`;
    el.dataset.patientId = resource.id;
  } else {
    el.textContent = 'none';
    el.dataset.patientId = '';
  }
  updateUploadState();
}

async function createPatient(event) {
  event.preventDefault();
  clearAlert();
  const value = (id) => byId(id).value.trim();
  const family = value('patient-family');
  const given = value('patient-given').split(/\s+/).filter(Boolean);
  const birthDate = value('patient-birthdate');
  const gender = value('patient-gender');
  const mrn = value('patient-mrn');
  const phone = value('patient-phone');
  const missing = [];
  if (!family) missing.push('family name');
  if (given.length === 0) missing.push('given name');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(birthDate)) missing.push('birth date (YYYY-MM-DD)');
  if (!gender) missing.push('gender');
  if (!mrn) missing.push('MRN');
  if (missing.length) {
    showError('The patient form is incomplete.', new Error(`missing: ${missing.join(', ')}`));
    return;
  }
  const patient = {
    resourceType: 'Patient',
    identifier: [{ system: identifierSystem(), value: mrn }],
    name: [{ family, given }],
    gender,
    birthDate,
  };
  if (phone) patient.telecom = [{ system: 'phone', value: phone }];
  const button = byId('patient-create');
  button.disabled = true;
  try {
    const answer = await api('POST', '/v1/fhir/Patient', { body: JSON.stringify(patient), contentType: 'application/fhir+json' });
    const created = answer.json();
    setPatient(created);
    byId('patient-form').reset();
    announce(`Patient ${patientName(created)} created and selected.`);
    byId('upload-file').focus();
  } catch (error) {
    showError('Could not create the patient.', error);
  } finally {
    button.disabled = false;
  }
}

async function searchPatients(event) {
  event.preventDefault();
  clearAlert();
  const mrn = byId('patient-search-mrn').value.trim();
  const results = clear(byId('patient-results'));
  if (!mrn) {
    showError('Enter an MRN to search.', new Error('missing MRN'));
    return;
  }
  try {
    const answer = await api('GET', `/v1/fhir/Patient?identifier=${encodeURIComponent(`${identifierSystem()}|${mrn}`)}`);
    const bundle = answer.json() ?? {};
    const patients = (bundle.entry ?? []).map((e) => e.resource).filter((r) => r?.resourceType === 'Patient');
    if (patients.length === 0) {
      results.append(h('p', { id: 'patient-no-results', class: 'hint' }, `No patient with MRN ${mrn}.`));
      announce(`No patient with MRN ${mrn}.`);
      return;
    }
    results.append(
      h('ul', { id: 'patient-result-list', class: 'result-list' }, patients.map((p) => {
        rememberPatient(p);
        return h('li', { dataset: { patientId: p.id } },
          h('span', {}, `${patientName(p)} \u2014 MRN ${patientMrn(p)}, born ${p.birthDate ?? '?'}, ${p.gender ?? '?'}`),
          ' ',
          h('button', {
            type: 'button', class: 'secondary small patient-select', 'aria-label': `Select ${patientName(p)}`,
            onclick: () => {
              setPatient(p);
              announce(`Selected ${patientName(p)}.`);
            },
          }, 'Select'));
      })),
    );
    announce(`${patients.length} patient(s) found.`);
  } catch (error) {
    showError('Patient search failed.', error);
  }
}

// ---------------------------------------------------------------- upload

async function loadModels() {
  const answer = await api('GET', '/v1/models');
  const models = (answer.json()?.models ?? []).map((m) => (typeof m === 'string' ? m : m?.name)).filter(Boolean);
  const select = clear(byId('upload-model'));
  for (const name of models) select.append(h('option', { value: name }, name));
  if (models.length === 0) select.append(h('option', { value: '' }, 'No models available'));
  updateUploadState();
}

function updateUploadState() {
  const ready = Boolean(state.patient) && Boolean(byId('upload-model').value);
  byId('upload-submit').disabled = !ready;
  byId('upload-patient-note').textContent = state.patient
    ? `For ${patientName(state.patient)} (MRN ${patientMrn(state.patient)}).`
    : 'Select or create a patient first.';
}

function mediaType(file, bytes) {
  const ascii = (offset, length) => String.fromCharCode(...bytes.subarray(offset, offset + length));
  if (bytes.length >= 132 && ascii(128, 4) === 'DICM') return 'application/dicom';
  if (bytes.length >= 8 && bytes[0] === 0x89 && ascii(1, 3) === 'PNG') return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (/\.(dcm|dicom)$/i.test(file.name) || file.type === 'application/dicom') return 'application/dicom';
  return null;
}

async function upload(event) {
  event.preventDefault();
  clearAlert();
  const file = byId('upload-file').files?.[0];
  const model = byId('upload-model').value;
  if (!state.patient) return showError('Select or create a patient first.', new Error('no patient'));
  if (!file) return showError('Choose an image file to upload.', new Error('no file'));
  if (!model) return showError('Choose a diagnostic model.', new Error('no model'));
  const bytes = new Uint8Array(await file.arrayBuffer());
  const type = mediaType(file, bytes);
  if (!type) return showError('This file is not DICOM, PNG or JPEG.', new Error(file.name));
  const button = byId('upload-submit');
  button.disabled = true;
  announce(`Sealing and uploading ${file.name}\u2026`);
  try {
    const target = `/v1/studies?patient=${encodeURIComponent(state.patient.id)}&model=${encodeURIComponent(model)}`;
    const answer = await api('POST', target, { body: bytes, contentType: type });
    const study = answer.json() ?? {};
    byId('upload-form').reset();
    byId('upload-model').value = model;
    announce(`Study ${shortId(study.id)} submitted: ${kStateText[study.state] ?? study.state}.`);
    if (study.id) state.studyStates.set(study.id, study.state);
    await refreshStudies();
  } catch (error) {
    showError('The upload was refused.', error);
  } finally {
    updateUploadState();
  }
}

// ---------------------------------------------------------------- studies

function stopPolling() {
  window.clearTimeout(state.pollTimer);
  state.pollTimer = null;
  byId('studies-polling').textContent = '';
}

function studyPatient(study) {
  return state.patientNames.get(study.patient) ?? `patient ${shortId(study.patient)}`;
}

async function fetchPatientNames(studies) {
  const unknown = [...new Set(studies.map((s) => s.patient))].filter((id) => id && !state.patientNames.has(id)).slice(0, 10);
  for (const id of unknown) {
    state.patientNames.set(id, `patient ${shortId(id)}`);
    try {
      const answer = await api('GET', `/v1/fhir/Patient/${encodeURIComponent(id)}`);
      rememberPatient(answer.json());
    } catch {
      // keep the id: a deleted patient or a role without patient reads
    }
  }
  return unknown.length > 0;
}

function studyRow(study) {
  const clerk = hasRole('clerk');
  const clinician = hasRole('clinician');
  const stateCell = h('td', { class: 'state' }, badge(kStateBadge[study.state] ?? 'info', kStateText[study.state] ?? study.state));
  if (study.state === 'queued' && study.attempts > 0) stateCell.append(h('span', { class: 'check-detail' }, `attempt ${study.attempts + 1} waiting (retry with backoff)`));
  if (study.error) {
    stateCell.append(h('span', { class: 'check-detail' }, h('code', { class: 'error-code' }, study.error.code), study.error.detail ? ` ${study.error.detail}` : ''));
  }
  const actions = h('td', { class: 'study-actions' });
  if (study.state === 'completed') {
    if (clinician) {
      actions.append(h('button', {
        type: 'button', class: 'small open-report', 'aria-label': `Open the report of study ${shortId(study.id)}`,
        onclick: () => openReport(study),
      }, 'Open report'));
    } else {
      actions.append(h('span', { class: 'hint' }, 'Report: clinician role'));
    }
  }
  if (study.state === 'dead_letter' && clerk) {
    actions.append(h('button', {
      type: 'button', class: 'small secondary retry', 'aria-label': `Retry study ${shortId(study.id)}`,
      onclick: (event) => retryStudy(study, event.currentTarget),
    }, 'Retry'));
  }
  if (study.positive === true) stateCell.append(' ', badge('warn', 'Positive finding'));
  return h('tr', { id: `study-${study.id}`, dataset: { studyId: study.id, state: study.state } },
    h('td', {}, formatTime(study.created_at)),
    h('td', {}, studyPatient(study)),
    h('td', {}, study.model),
    stateCell,
    actions);
}

function renderStudies() {
  const body = clear(byId('studies-body'));
  if (state.studies.length === 0) {
    body.append(h('tr', {}, h('td', { colspan: 5, class: 'hint' }, 'No studies yet.')));
    return;
  }
  for (const study of state.studies) body.append(studyRow(study));
}

async function refreshStudies() {
  window.clearTimeout(state.pollTimer);
  state.pollTimer = null;
  if (!state.user) return;
  const answer = await api('GET', '/v1/studies?limit=50');
  if (!state.user) return;
  const studies = answer.json()?.studies ?? [];
  for (const study of studies) {
    const before = state.studyStates.get(study.id);
    if (before !== undefined && before !== study.state) {
      const extra = study.state === 'dead_letter' && study.error ? ` (${study.error.code})` : '';
      announce(`Study ${shortId(study.id)} (${study.model}): ${kStateText[study.state] ?? study.state}${extra}.`);
    }
    state.studyStates.set(study.id, study.state);
  }
  state.studies = studies;
  renderStudies();
  if (await fetchPatientNames(studies)) renderStudies();
  const active = studies.some((s) => s.state === 'queued' || s.state === 'running');
  if (active && state.user) {
    byId('studies-polling').textContent = 'Updating every 2 seconds while a diagnosis is in progress\u2026';
    state.pollTimer = window.setTimeout(() => {
      refreshStudies().catch((error) => {
        showError('Could not refresh the studies.', error);
        stopPolling();
      });
    }, kPollMs);
  } else {
    byId('studies-polling').textContent = '';
  }
}

async function retryStudy(study, button) {
  clearAlert();
  button.disabled = true;
  try {
    await api('POST', `/v1/studies/${encodeURIComponent(study.id)}/retry`);
    announce(`Study ${shortId(study.id)} queued again.`);
    await refreshStudies();
  } catch (error) {
    button.disabled = false;
    showError('The retry was refused.', error);
  }
}

// ---------------------------------------------------------------- report

async function openReport(study) {
  clearAlert();
  state.reportStudy = study;
  const section = byId('report-section');
  section.hidden = false;
  byId('nav-report').hidden = false;
  byId('report-heading').textContent = `Report \u2014 ${studyPatient(study)}`;
  byId('report-heading').focus();
  try {
    await renderReport(byId('report-body'), study, { api, patientLabel: studyPatient(study) });
    announce('Report loaded.');
  } catch (error) {
    clear(byId('report-body'));
    showError('Could not load the report.', error);
  }
}

function closeReport() {
  const study = state.reportStudy;
  state.reportStudy = null;
  byId('report-section').hidden = true;
  byId('nav-report').hidden = true;
  clear(byId('report-body'));
  const button = study ? document.querySelector(`#study-${CSS.escape(study.id)} .open-report`) : null;
  (button ?? byId('studies-heading')).focus?.();
}

// ---------------------------------------------------------------- start

async function start() {
  byId('verify-again').addEventListener('click', () => verify());
  byId('login-form').addEventListener('submit', login);
  byId('logout').addEventListener('click', logout);
  byId('patient-form').addEventListener('submit', createPatient);
  byId('patient-search-form').addEventListener('submit', searchPatients);
  byId('upload-form').addEventListener('submit', upload);
  byId('upload-model').addEventListener('change', updateUploadState);
  byId('studies-refresh').addEventListener('click', () => refreshStudies().catch((error) => showError('Could not load the studies.', error)));
  byId('report-close').addEventListener('click', closeReport);

  renderPending('Loading the hospital\u2019s configuration\u2026');
  try {
    state.config = await loadConfig('./config.json');
  } catch (error) {
    renderTrust(null, { error: error.message });
    byId('verify-again').disabled = true;
    updateLayout();
    return;
  }
  byId('hospital-name').textContent = `\u2014 ${state.config.hospital ?? state.config.tenant}`;
  document.title = `${state.config.hospital ?? 'Hospital'} \u2014 Cloister portal`;
  byId('login-tenant').value = state.config.tenant;
  byId('identifier-system').textContent = identifierSystem();
  await verify();
}

start();
