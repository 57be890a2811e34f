// Builds dist/ once before any suite runs, so integration and e2e tests that spawn the real
// `ambit` CLI (node dist/cli/main.js) always run the code under test.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export default function setup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  if (r.error) throw r.error;
  // tsc still emits when it finds type errors; `npm test` type-checks separately, so here we only
  // report them (a half-edited file elsewhere must not stop every suite from running).
  if (r.status !== 0) process.stderr.write(`[global-setup] tsc reported errors:\n${r.stdout}${r.stderr}\n`);
}
