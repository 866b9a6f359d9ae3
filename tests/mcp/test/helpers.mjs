// Shared fixtures: a `strongroom serve --dev` process in a temp dir, API keys.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export const BIN = process.env.STRONGROOM_BIN;
export const TOTP_SEED = 'JBSWY3DPEHPK3PXPJBSWY3DP';

// An official SDK client connected over Streamable HTTP to `url`/mcp with `key`.
export async function connectHttp(url, key, name = 'strongroom-test') {
  const client = new Client({ name, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  return client;
}

// Starts a dev server on a free loopback port. Resolves with
// { url, key, dataDir, stop() } once it prints its key and address.
export async function startServer(extraArgs = []) {
  const dataDir = mkdtempSync(join(tmpdir(), 'strongroom-mcp-test-'));
  const child = spawn(
    BIN,
    ['serve', '--dev', '--data-dir', join(dataDir, 'dev'), '--listen', '127.0.0.1:0', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  let key;
  let url;
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start in 90s; output:\n${output}`)),
      90_000,
    );
    const onData = (chunk) => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        const trimmed = line.trim();
        if (/^sr_\S+$/.test(trimmed)) key = trimmed;
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (m) url = m[1];
      }
      if (key && url) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}; output:\n${output}`));
    });
  });
  await ready;
  child.removeAllListeners('exit');
  return {
    url,
    key,
    dataDir: join(dataDir, 'dev'),
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// `strongroom admin --data-dir DIR key create --identity dev --scope ...`:
// the new key is the last line of stdout.
export async function createKey(dataDir, scopes) {
  const args = ['admin', '--data-dir', dataDir, 'key', 'create', '--identity', 'dev'];
  for (const scope of scopes) args.push('--scope', scope);
  const { stdout } = await promisify(execFile)(BIN, args);
  const lines = stdout.trim().split('\n');
  return lines[lines.length - 1].trim();
}

// A raw POST to /mcp, for what the SDK would never send.
export async function rawPost(url, body, { key, version = '2025-11-25', headers = {} } = {}) {
  const h = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    ...headers,
  };
  if (key) h.Authorization = `Bearer ${key}`;
  if (version) h['MCP-Protocol-Version'] = version;
  const response = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: h,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}
