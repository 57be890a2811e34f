// Test code stays out of the components: no file under a component folder imports from test/,
// no product file imports a test-only file (*.test.ts, *.test-helper.ts, *-fixture.ts), the build
// compiles test/ only as far as bench/ needs it (into dist/test/support, outside the components'
// dist folders), and the built dist/ of each component holds no test-only file.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../local-cluster/repo-root.js';

const root = repoRoot();
const COMPONENTS = ['cli', 'core', 'controller', 'agent', 'ztunnel', 'waypoint', 'local-cluster'];
const TEST_ONLY = /(\.test|\.test-helper|-fixture)\.(ts|js)$|\/testing\//;

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** Relative import specifiers of a TypeScript file, resolved to repo-relative .ts paths. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map(
    (m) => m[1] ?? '',
  );
  return specs.map((s) => path.relative(root, path.resolve(path.dirname(file), s)).replace(/\.js$/, '.ts'));
}

const rel = (p: string) => path.relative(root, p);

describe('test code boundary', () => {
  const componentFiles = COMPONENTS.flatMap((c) => walk(path.join(root, c))).filter((f) => f.endsWith('.ts'));

  it('finds the component sources it checks', () => {
    expect(componentFiles.map(rel)).toContain('ztunnel/ztunnel.ts');
    expect(componentFiles.map(rel)).toContain('local-cluster/cluster.ts');
  });

  it('no file under a component folder imports from test/', () => {
    const offenders = componentFiles.flatMap((f) =>
      relativeImports(f)
        .filter((i) => i.startsWith(`test${path.sep}`))
        .map((i) => `${rel(f)} -> ${i}`),
    );
    expect(offenders).toEqual([]);
  });

  it('no product file under a component folder imports a test-only file', () => {
    const offenders = componentFiles
      .filter((f) => !TEST_ONLY.test(f))
      .flatMap((f) =>
        relativeImports(f)
          .filter((i) => TEST_ONLY.test(i))
          .map((i) => `${rel(f)} -> ${i}`),
      );
    expect(offenders).toEqual([]);
  });

  it('the build compiles no test-only file, and from test/ only test/support (for bench)', () => {
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    const listed = execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--listFilesOnly'], {
      cwd: root,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((l) => l !== '' && !l.includes('/node_modules/'))
      .map((l) => path.relative(root, l));
    expect(listed).toContain('cli/main.ts');
    expect(listed.filter((f) => TEST_ONLY.test(f))).toEqual([]);
    expect(listed.filter((f) => f.startsWith('test/') && !f.startsWith('test/support/'))).toEqual([]);
  });

  it.each(COMPONENTS)('dist/%s holds no test-only file', (c) => {
    // dist/ is built by the global setup; a stale file from an older build counts too (rebuild clean).
    const built = walk(path.join(root, 'dist', c)).map(rel);
    expect(built.filter((f) => TEST_ONLY.test(f.replace(/\.map$/, '').replace(/\.d\.ts$/, '.ts')))).toEqual(
      [],
    );
  });
});
