// Where the repository is on disk: the nearest directory at or above a start directory that holds
// a package.json. The local cluster (`ambit demo`), the test harnesses and the benches all find
// dist/ and bpf/ through this one function; it stops at the filesystem root instead of looping.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest directory at or above `start` holding a package.json; throws when there is none. */
export function findPackageRoot(start: string): string {
  let dir = path.resolve(start);
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir)
      throw new Error(`no package.json found in ${path.resolve(start)} or any directory above it`);
    dir = up;
  }
}

/** The repository root: this file sits in local-cluster/ (from source) or dist/local-cluster/. */
export function repoRoot(): string {
  return findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
}
