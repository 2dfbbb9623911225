// A Vault application's journey through Rekey's Transit surface, driven by node-vault exactly as
// an application would drive Vault: only the address and the token point at Rekey.
//   VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=rkt_... node journey.mjs
// Prints one line per step and exits 1 at the first step that does not behave as Vault's does.
import assert from 'node:assert/strict';
import vaultFactory from 'node-vault';

const vault = vaultFactory({ endpoint: process.env.VAULT_ADDR, token: process.env.VAULT_TOKEN });
const key = process.env.JOURNEY_KEY ?? 'node-orders';
const b64 = (text) => Buffer.from(text, 'utf8').toString('base64');
const text = (base64) => Buffer.from(base64, 'base64').toString('utf8');
let steps = 0;

async function step(name, run) {
  try {
    await run();
    steps++;
    console.log(`ok   ${name}`);
  } catch (error) {
    console.log(`FAIL ${name}: ${error.message}`);
    if (error.response) console.log(JSON.stringify(error.response.body));
    process.exit(1);
  }
}

// The call must fail with this status; returns the response body.
async function refused(status, call) {
  try {
    await call();
  } catch (error) {
    assert.equal(error.response?.statusCode, status, `expected ${status}, got ${error.response?.statusCode}: ${error.message}`);
    return error.response.body;
  }
  assert.fail(`expected a ${status} refusal, got a success`);
}

let v1;
let v2;

await step('enable transit at transit/ (already served: succeeds, idempotent)', async () => {
  await vault.mount({ mount_point: 'transit', type: 'transit', description: 'app keys' });
  const mounts = await vault.mounts();
  assert.equal(mounts.data['transit/'].type, 'transit');
});

await step('transitCreateKey', async () => {
  const created = await vault.transitCreateKey({ name: key });
  assert.equal(created.data.type, 'aes256-gcm96');
});

await step('transitReadKey shows Vault\'s fields', async () => {
  const read = await vault.transitReadKey({ name: key });
  assert.equal(read.data.name, key);
  assert.equal(read.data.latest_version, 1);
  assert.equal(read.data.min_decryption_version, 1);
  assert.equal(read.data.exportable, false);
  assert.equal(read.data.deletion_allowed, false);
  assert.equal(read.data.supports_encryption, true);
  assert.equal(typeof read.data.keys['1'], 'number');
  assert.ok(Math.abs(read.data.keys['1'] - Date.now() / 1000) < 600, 'creation time in Unix seconds');
});

await step('transitListKeys', async () => {
  const list = await vault.transitListKeys();
  assert.ok(list.data.keys.includes(key));
});

await step('encryptData and decryptData', async () => {
  const encrypted = await vault.encryptData({ name: key, plaintext: b64('card 4111') });
  v1 = encrypted.data.ciphertext;
  assert.match(v1, /^vault:v1:/);
  assert.equal(encrypted.data.key_version, 1);
  const decrypted = await vault.decryptData({ name: key, ciphertext: v1 });
  assert.equal(text(decrypted.data.plaintext), 'card 4111');
});

await step('associated_data binds the ciphertext', async () => {
  const bound = await vault.encryptData({ name: key, plaintext: b64('bound'), associated_data: b64('tenant=h42') });
  const back = await vault.decryptData({ name: key, ciphertext: bound.data.ciphertext, associated_data: b64('tenant=h42') });
  assert.equal(text(back.data.plaintext), 'bound');
  await refused(400, () => vault.decryptData({ name: key, ciphertext: bound.data.ciphertext, associated_data: b64('tenant=h43') }));
});

await step('rotate (write keys/<name>/rotate)', async () => {
  const rotated = await vault.write(`transit/keys/${key}/rotate`, {});
  assert.equal(rotated.data.latest_version, 2);
  assert.deepEqual(Object.keys(rotated.data.keys).sort(), ['1', '2']);
});

await step('rewrapData moves a ciphertext to the latest version', async () => {
  const rewrapped = await vault.rewrapData({ name: key, ciphertext: v1 });
  v2 = rewrapped.data.ciphertext;
  assert.match(v2, /^vault:v2:/);
  const decrypted = await vault.decryptData({ name: key, ciphertext: v2 });
  assert.equal(text(decrypted.data.plaintext), 'card 4111');
});

await step('a batch with one bad item: 400, each item answered, references echoed', async () => {
  const body = await refused(400, () => vault.write(`transit/encrypt/${key}`, {
    batch_input: [{ plaintext: b64('one'), reference: 'r1' }, { plaintext: 'not base64!', reference: 'r2' }, { plaintext: b64('three'), reference: 'r3' }],
  }));
  const results = body.data.batch_results;
  assert.equal(results.length, 3);
  assert.match(results[0].ciphertext, /^vault:v2:/);
  assert.equal(results[0].reference, 'r1');
  assert.ok(results[1].error.length > 0);
  assert.equal(results[1].ciphertext, undefined);
  assert.equal(results[1].reference, 'r2');
  assert.match(results[2].ciphertext, /^vault:v2:/);
});

await step('the same batch with partial_failure_response_code 200 succeeds, and decrypts as a batch', async () => {
  const encrypted = await vault.write(`transit/encrypt/${key}`, {
    partial_failure_response_code: 200,
    batch_input: [{ plaintext: b64('one') }, { plaintext: 'not base64!' }],
  });
  const good = encrypted.data.batch_results[0].ciphertext;
  assert.ok(encrypted.data.batch_results[1].error);
  const decrypted = await vault.write(`transit/decrypt/${key}`, { batch_input: [{ ciphertext: good, reference: 'x' }] });
  assert.equal(text(decrypted.data.batch_results[0].plaintext), 'one');
  assert.equal(decrypted.data.batch_results[0].reference, 'x');
});

await step('config: min_decryption_version, deletion_allowed, auto_rotate_period', async () => {
  const configured = await vault.write(`transit/keys/${key}/config`, { min_decryption_version: 2, deletion_allowed: true, auto_rotate_period: '24h' });
  assert.equal(configured.data.min_decryption_version, 2);
  const read = await vault.transitReadKey({ name: key });
  assert.equal(read.data.deletion_allowed, true);
  assert.equal(read.data.auto_rotate_period, 86400);
});

await step('decrypt below min_decryption_version is refused', async () => {
  const body = await refused(400, () => vault.decryptData({ name: key, ciphertext: v1 }));
  assert.match(body.errors[0], /minimum decryption version/);
  const decrypted = await vault.decryptData({ name: key, ciphertext: v2 });
  assert.equal(text(decrypted.data.plaintext), 'card 4111');
});

await step('datakey/plaintext and datakey/wrapped', async () => {
  const plain = await vault.write(`transit/datakey/plaintext/${key}`, { bits: 256 });
  assert.equal(Buffer.from(plain.data.plaintext, 'base64').length, 32);
  assert.match(plain.data.ciphertext, /^vault:v2:/);
  const unwrapped = await vault.decryptData({ name: key, ciphertext: plain.data.ciphertext });
  assert.equal(unwrapped.data.plaintext, plain.data.plaintext);
  const wrapped = await vault.write(`transit/datakey/wrapped/${key}`, { bits: 512 });
  assert.equal(wrapped.data.plaintext, undefined);
  const key512 = await vault.decryptData({ name: key, ciphertext: wrapped.data.ciphertext });
  assert.equal(Buffer.from(key512.data.plaintext, 'base64').length, 64);
});

await step('trim versions below 2', async () => {
  const trimmed = await vault.write(`transit/keys/${key}/trim`, { min_available_version: 2 });
  assert.equal(trimmed.data.min_available_version, 2);
  assert.deepEqual(Object.keys(trimmed.data.keys), ['2']);
});

await step('what Rekey does not do is refused clearly', async () => {
  const derived = await refused(400, () => vault.write('transit/keys/node-derived', { derived: true }));
  assert.match(derived.errors[0], /derived keys are not supported/);
  const signing = await refused(400, () => vault.write(`transit/sign/${key}`, { input: b64('x') }));
  assert.match(signing.errors[0], /does not support signing/);
  await refused(400, () => vault.write('transit/keys/node-rsa', { type: 'rsa-2048' }));
});

await step('transitDeleteKey, then reading it is a 404', async () => {
  await vault.transitDeleteKey({ name: key });
  await refused(404, () => vault.transitReadKey({ name: key }));
});

await step('a missing or unknown token is refused with 403', async () => {
  const stranger = vaultFactory({ endpoint: process.env.VAULT_ADDR, token: 'rkt_0000000000000000_unknown' });
  await refused(403, () => stranger.transitListKeys());
});

console.log(`node-vault journey passed: ${steps} steps`);
