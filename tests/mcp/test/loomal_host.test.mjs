// An MCP host that starts the way Loomal's MCP server does (issue 11): it asks
// GET /v0/whoami with its key, reads the key's scopes, and offers (and calls)
// exactly the tools those scopes allow, through the official SDK client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { TOTP_SEED, connectHttp, createKey, startServer } from './helpers.mjs';

// The tools each scope allows (SPEC 6), as a Loomal-style host maps them.
const TOOLS_BY_SCOPE = {
  'vault:read': ['vault.get', 'vault.list', 'vault.totp'],
  'vault:write': ['vault.delete', 'vault.store', 'vault.totp_use_backup'],
};
let server;

async function whoami(key) {
  const response = await fetch(`${server.url}/v0/whoami`, {
    headers: { Authorization: `Bearer ${key}` },
  });
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.deepEqual(Object.keys(body), [
    'identityId', 'name', 'displayName', 'email', 'type', 'purpose',
    'scopes', 'keyId', 'keyExpiresAt', 'createdAt', 'wallet',
  ]);
  assert.equal(body.type, 'AGENT');
  assert.equal(body.name, 'dev');
  assert.equal(body.keyId, key.slice(3, 19));
  return body;
}

function ok(result) {
  assert.notEqual(result.isError, true, JSON.stringify(result));
  return result.structuredContent;
}

// Starts like the host: whoami, then the tools of its scopes and nothing else.
async function runHost(key, prefix) {
  const me = await whoami(key);
  const offered = me.scopes.flatMap((scope) => TOOLS_BY_SCOPE[scope] ?? []).sort();
  const client = await connectHttp(server.url, key, 'loomal-style-host');
  try {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), offered);
    const call = (name, args) => client.callTool({ name, arguments: args });
    const canWrite = me.scopes.includes('vault:write');
    if (canWrite) {
      ok(await call('vault.store', {
        name: `${prefix}-totp`,
        type: 'TOTP',
        data: { secret: TOTP_SEED, backupCodes: ['aaaa-1111'] },
      }));
    }
    const listed = ok(await call('vault.list', {}));
    assert.equal(listed.nextCursor, null);
    assert.ok(listed.credentials.some((c) => c.name === 'host-seeded'));
    assert.equal(ok(await call('vault.get', { name: 'host-seeded' })).data.secret, '[REDACTED]');
    assert.match(ok(await call('vault.totp', { name: 'host-seeded' })).code, /^\d{6}$/);
    if (canWrite) {
      assert.equal(ok(await call('vault.totp_use_backup', { name: `${prefix}-totp` })).code,
        'aaaa-1111');
      const deleted = await call('vault.delete', { name: `${prefix}-totp` });
      assert.notEqual(deleted.isError, true, JSON.stringify(deleted));
    } else {
      // What the host did not offer still fails if called.
      const refused = await call('vault.store', {
        name: `${prefix}-x`, type: 'CUSTOM', data: { a: 'b' },
      });
      assert.equal(refused.isError, true);
      assert.equal(refused.structuredContent.error, 'insufficient_scope');
    }
  } finally {
    await client.close();
  }
  return me;
}

describe('a Loomal-style MCP host (whoami first, tools by scope)', () => {
  // One server for the block, seeded with a TOTP credential every key may read.
  before(async () => {
    server = await startServer();
    const seeded = await fetch(`${server.url}/v0/vault/host-seeded`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${server.key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'TOTP', data: { secret: TOTP_SEED } }),
    });
    assert.equal(seeded.status, 200);
  });
  after(async () => {
    await server?.stop();
  });

  test('a read-only key: read tools only; store is 403 over REST', async () => {
    const key = await createKey(server.dataDir, ['vault:read']);
    const me = await runHost(key, 'ro');
    assert.deepEqual(me.scopes, ['vault:read']);
    const put = await fetch(`${server.url}/v0/vault/ro-rest`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'CUSTOM', data: { a: 'b' } }),
    });
    assert.equal(put.status, 403);
    assert.equal((await put.json()).error, 'insufficient_scope');
  });

  test('a read+write key: every tool', async () => {
    const key = await createKey(server.dataDir, ['vault:read', 'vault:write']);
    const me = await runHost(key, 'rw');
    assert.deepEqual(me.scopes, ['vault:read', 'vault:write']);
  });

  test('a bad key: whoami is 401 with WWW-Authenticate', async () => {
    const response = await fetch(`${server.url}/v0/whoami`, {
      headers: { Authorization: 'Bearer sr_not_a_key' },
    });
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await response.json()).error, 'unauthorized');
  });
});
