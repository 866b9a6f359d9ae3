// Runs the MCP SDK conformance tests (ctest: mcp_sdk_test). Needs STRONGROOM_BIN
// and the npm dependencies from package-lock.json (`npm ci` in tests/mcp).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (!existsSync(join(here, 'node_modules', '@modelcontextprotocol', 'sdk', 'package.json'))) {
  console.error(`mcp_sdk_test: ${here}/node_modules is missing: run \`npm ci\` in ${here}`);
  process.exit(1);
}
if (!process.env.STRONGROOM_BIN || !existsSync(process.env.STRONGROOM_BIN)) {
  console.error('mcp_sdk_test: set STRONGROOM_BIN to the strongroom binary');
  process.exit(1);
}
const files = readdirSync(join(here, 'test'))
  .filter((f) => f.endsWith('.test.mjs'))
  .sort()
  .map((f) => join(here, 'test', f));
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], {
  cwd: here,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
