#!/usr/bin/env node
// Thin launcher: runs the compiled CLI (npm run build / scripts/setup.sh produce dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const main = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'main.js');
if (!existsSync(main)) {
  console.error('ambit: dist/ is missing; run `npm run setup` (or `npm run build`) first');
  process.exit(1);
}
await import(main);
