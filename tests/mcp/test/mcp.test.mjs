// MCP conformance (SPEC 6) with the official TypeScript SDK client, over
// Streamable HTTP and over stdio through `strongroom mcp`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

import { BIN, TOTP_SEED, connectHttp, createKey, rawPost, startServer } from './helpers.mjs';

const READ_TOOLS = ['vault.get', 'vault.list', 'vault.totp'];
const ALL_TOOLS = [...READ_TOOLS, 'vault.delete', 'vault.store', 'vault.totp_use_backup'].sort();

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

async function httpClient(key) {
  return connectHttp(server.url, key);
}

async function stdioClient(key, extraArgs = []) {
  const client = new Client({ name: 'strongroom-test', version: '1.0.0' });
  const transport = new StdioClientTransport({
    command: BIN,
    args: ['mcp', '--addr', server.url, ...extraArgs],
    env: { ...process.env, STRONGROOM_TOKEN: key },
    stderr: 'pipe',
  });
  await client.connect(transport);
  return client;
}

function structured(result) {
  assert.ok(Array.isArray(result.content) && result.content.length === 1, 'one content item');
  assert.equal(result.content[0].type, 'text');
  // The text is the same JSON as structuredContent (the REST response body).
  assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent);
  return result.structuredContent;
}

function toolError(result, code) {
  assert.equal(result.isError, true, `expected an isError result, got ${JSON.stringify(result)}`);
  const body = structured(result);
  assert.equal(body.error, code);
  assert.equal(typeof body.message, 'string');
}

async function rejectsWithCode(promise, code) {
  await assert.rejects(promise, (error) => {
    assert.equal(error.code, code, `expected JSON-RPC ${code}, got ${error.code}: ${error.message}`);
    return true;
  });
}

// Every tool on its success and failure paths; names are prefixed so the two
// transports do not collide in the one vault.
async function exerciseTools(client, p, names = (n) => n) {
  const call = (name, args) => client.callTool({ name: names(name), arguments: args });

  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ALL_TOOLS.map(names).sort());
  for (const tool of tools) {
    assert.equal(tool.inputSchema.type, 'object');
    assert.equal(typeof tool.description, 'string');
    assert.equal(typeof tool.title, 'string');
    assert.equal(typeof tool.annotations.readOnlyHint, 'boolean');
    assert.equal(typeof tool.annotations.destructiveHint, 'boolean');
    assert.equal(typeof tool.annotations.idempotentHint, 'boolean');
  }
  const store = tools.find((t) => t.name === names('vault.store'));
  assert.equal(store.inputSchema.properties.type.enum.length, 12);  // SPEC 3: twelve types
  assert.deepEqual(store.inputSchema.required.sort(), ['data', 'name', 'type']);

  // store -> get round-trips the data
  const created = structured(
    await call('vault.store', {
      name: `${p}-login`,
      type: 'LOGIN',
      data: { password: 's3cret-pass' },
      metadata: { username: 'octo', uri: 'https://example.com' },
    }),
  );
  assert.equal(created.created, true);
  assert.equal(created.name, `${p}-login`);
  assert.equal(created.type, 'LOGIN');
  const replaced = structured(
    await call('vault.store', {
      name: `${p}-login`,
      type: 'LOGIN',
      data: { password: 's3cret-pass-2' },
      metadata: { username: 'octo' },
    }),
  );
  assert.equal(replaced.created, false);
  const got = await call('vault.get', { name: `${p}-login` });
  assert.notEqual(got.isError, true);
  assert.equal(structured(got).data.password, 's3cret-pass-2');
  assert.equal(structured(got).metadata.username, 'octo');

  // list shows metadata only
  const listed = structured(await call('vault.list', {}));
  const entry = listed.credentials.find((c) => c.name === `${p}-login`);
  assert.ok(entry, 'stored credential is listed');
  assert.equal(entry.metadata.username, 'octo');
  for (const c of listed.credentials) assert.equal(c.data, undefined, 'list carries no data');
  assert.equal(typeof listed.count, 'number');
  const page = structured(await call('vault.list', { limit: 1 }));
  assert.equal(page.credentials.length, 1);

  // totp: a 6-digit code; backup codes pop in order, then run out
  structured(
    await call('vault.store', {
      name: `${p}-otp`,
      type: 'TOTP',
      data: { secret: TOTP_SEED, backupCodes: ['bk-1', 'bk-2'] },
      metadata: { issuer: 'Example' },
    }),
  );
  const totp = structured(await call('vault.totp', { name: `${p}-otp` }));
  assert.match(totp.code, /^\d{6}$/);
  assert.equal(totp.digits, 6);
  assert.equal(totp.backupCodesRemaining, 2);
  const first = structured(await call('vault.totp_use_backup', { name: `${p}-otp` }));
  assert.deepEqual([first.code, first.remaining], ['bk-1', 1]);
  const second = structured(await call('vault.totp_use_backup', { name: `${p}-otp` }));
  assert.deepEqual([second.code, second.remaining], ['bk-2', 0]);
  toolError(await call('vault.totp_use_backup', { name: `${p}-otp` }), 'no_backup_codes');
  toolError(await call('vault.totp', { name: `${p}-login` }), 'not_totp');
  const redacted = structured(await call('vault.get', { name: `${p}-otp` }));
  assert.equal(redacted.data.secret, '[REDACTED]');
  assert.deepEqual(redacted.data.usedBackupCodes, ['bk-1', 'bk-2']);

  // delete removes; then get is a tool error
  const deleted = structured(await call('vault.delete', { name: `${p}-login` }));
  assert.deepEqual(deleted, { deleted: true, name: `${p}-login` });
  toolError(await call('vault.get', { name: `${p}-login` }), 'not_found');
  toolError(await call('vault.delete', { name: `${p}-login` }), 'not_found');

  // validation failures are tool errors
  toolError(
    await call('vault.store', { name: `${p}-bad`, type: 'NOPE', data: { a: 'b' } }),
    'invalid_type',
  );
  toolError(
    await call('vault.store', { name: `${p}-bad`, type: 'LOGIN', data: { username: 'x' } }),
    'missing_field',
  );
  toolError(
    await call('vault.store', {
      name: `${p}-bad`,
      type: 'LOGIN',
      data: { password: 'x' },
      metadata: { password: 'leak' },
    }),
    'secret_in_metadata',
  );
  toolError(
    await call('vault.store', { name: '-not a name', type: 'CUSTOM', data: { a: 'b' } }),
    'invalid_name',
  );
  // malformed calls are JSON-RPC errors
  await rejectsWithCode(call('vault.store', { name: `${p}-bad`, type: 'LOGIN' }), -32602);
  await rejectsWithCode(call('vault.get', {}), -32602);
  await rejectsWithCode(client.callTool({ name: 'vault.nope', arguments: {} }), -32602);

  await client.ping();
}

describe('Streamable HTTP', () => {
  test('initialize negotiates and reports the server', async () => {
    const client = await httpClient(server.key);
    try {
      assert.equal(client.getServerVersion().name, 'strongroom');
      assert.deepEqual(client.getServerCapabilities().tools, { listChanged: false });
    } finally {
      await client.close();
    }
  });

  test('every tool, success and failure paths', async () => {
    const client = await httpClient(server.key);
    try {
      await exerciseTools(client, 'http');
    } finally {
      await client.close();
    }
  });

  test('a read-only key sees and may call only the read tools', async () => {
    const readKey = await createKey(server.dataDir, ['vault:read']);
    assert.match(readKey, /^sr_/);
    const client = await httpClient(readKey);
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), READ_TOOLS);
      toolError(
        await client.callTool({
          name: 'vault.store',
          arguments: { name: 'ro', type: 'CUSTOM', data: { a: 'b' } },
        }),
        'insufficient_scope',
      );
      toolError(
        await client.callTool({ name: 'vault.delete', arguments: { name: 'ro' } }),
        'insufficient_scope',
      );
      structured(await client.callTool({ name: 'vault.list', arguments: {} }));
    } finally {
      await client.close();
    }
  });
});

describe('stdio bridge (strongroom mcp)', () => {
  test('every tool, success and failure paths', async () => {
    const client = await stdioClient(server.key);
    try {
      assert.equal(client.getServerVersion().name, 'strongroom');
      await exerciseTools(client, 'stdio');
    } finally {
      await client.close();
    }
  });

  test('--mcp-tool-names=underscore exposes vault_get ...', async () => {
    const client = await stdioClient(server.key, ['--mcp-tool-names=underscore']);
    try {
      await exerciseTools(client, 'under', (n) => n.replace('.', '_'));
    } finally {
      await client.close();
    }
  });

  test('a bad token gives errors, not a crash', async () => {
    const client = new Client({ name: 'strongroom-test', version: '1.0.0' });
    const transport = new StdioClientTransport({
      command: BIN,
      args: ['mcp', '--addr', server.url],
      env: { ...process.env, STRONGROOM_TOKEN: 'sr_wrong' },
      stderr: 'pipe',
    });
    await assert.rejects(client.connect(transport));
    await client.close();
  });

  test('no STRONGROOM_TOKEN: exit 1 with a one-line reason', async () => {
    const { spawnSync } = await import('node:child_process');
    const env = { ...process.env };
    delete env.STRONGROOM_TOKEN;
    const result = spawnSync(BIN, ['mcp', '--addr', server.url], { env, input: '' });
    assert.equal(result.status, 1);
    assert.equal(result.stdout.toString(), '');
    assert.equal(result.stderr.toString().trim().split('\n').length, 1);
    assert.match(result.stderr.toString(), /STRONGROOM_TOKEN/);
  });

  test('EOF on stdin: exit 0, nothing but MCP messages on stdout', async () => {
    const { spawnSync } = await import('node:child_process');
    const input =
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })}\n` +
      `${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n` +
      '{not json\n';
    const result = spawnSync(BIN, ['mcp', '--addr', server.url], {
      env: { ...process.env, STRONGROOM_TOKEN: server.key },
      input,
    });
    assert.equal(result.status, 0);
    const lines = result.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[0], { jsonrpc: '2.0', id: 1, result: {} });
    assert.equal(lines[1].error.code, -32700);
  });
});

describe('protocol faults (raw HTTP)', () => {
  test('malformed JSON is -32700', async () => {
    const r = await rawPost(server.url, '{"jsonrpc": "2.0", "id": 1, "method": ', { key: server.key });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32700);
    assert.equal(r.json.id, null);
  });

  test('a wrong jsonrpc version is -32600', async () => {
    const r = await rawPost(server.url, { jsonrpc: '1.0', id: 1, method: 'ping' }, { key: server.key });
    assert.equal(r.json.error.code, -32600);
  });

  test('an unknown method is -32601', async () => {
    const r = await rawPost(server.url, { jsonrpc: '2.0', id: 2, method: 'no/such' }, { key: server.key });
    assert.equal(r.status, 200);
    assert.equal(r.json.id, 2);
    assert.equal(r.json.error.code, -32601);
  });

  test('missing arguments are -32602', async () => {
    const r = await rawPost(
      server.url,
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'vault.get' } },
      { key: server.key },
    );
    assert.equal(r.json.id, 3);
    assert.equal(r.json.error.code, -32602);
    const noName = await rawPost(
      server.url,
      { jsonrpc: '2.0', id: 4, method: 'tools/call', params: {} },
      { key: server.key },
    );
    assert.equal(noName.json.error.code, -32602);
  });

  test('no token is 401 with WWW-Authenticate before any JSON-RPC', async () => {
    const r = await rawPost(server.url, '{not json');
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal(r.json.error, 'unauthorized');
  });

  test('GET /mcp is 405 (no server-initiated stream)', async () => {
    const r = await fetch(`${server.url}/mcp`, {
      headers: { Accept: 'text/event-stream', Authorization: `Bearer ${server.key}` },
    });
    assert.equal(r.status, 405);
    await r.text();
  });

  test('notifications are 202 with no body', async () => {
    const r = await rawPost(
      server.url,
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { key: server.key },
    );
    assert.equal(r.status, 202);
    assert.equal(r.text, '');
  });

  test('batches only for protocol 2025-03-26', async () => {
    const batch = [
      { jsonrpc: '2.0', id: 1, method: 'ping' },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
    ];
    const old = await rawPost(server.url, batch, { key: server.key, version: '2025-03-26' });
    assert.equal(old.status, 200);
    assert.ok(Array.isArray(old.json));
    assert.deepEqual(old.json.map((m) => m.id), [1, 2]);
    const current = await rawPost(server.url, batch, { key: server.key, version: '2025-11-25' });
    assert.equal(current.status, 400);
    assert.equal(current.json.error.code, -32600);
  });

  test('an unsupported MCP-Protocol-Version header is 400', async () => {
    const r = await rawPost(server.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, {
      key: server.key,
      version: '2099-01-01',
    });
    assert.equal(r.status, 400);
  });

  test('the server stays up', async () => {
    assert.ok(server.alive());
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    const r = await rawPost(server.url, { jsonrpc: '2.0', id: 9, method: 'ping' }, { key: server.key });
    assert.deepEqual(r.json, { jsonrpc: '2.0', id: 9, result: {} });
  });
});
