// The Dockerfile, checked statically (no Docker engine is needed): two stages from Node 20 Debian
// images, every COPY from the build context names a path that exists in the repo and is not
// .dockerignored, every COPY from the build stage names something that stage copied in or built,
// the runtime stage installs bpftool and iproute2 and no compiler, carries only what runs, and
// starts the CLI.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile -> stages of instructions (comments dropped, `\` continuations joined). */
function parseDockerfile(text: string): Stage[] {
  const lines = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m?.[1] || m[2] === undefined) throw new Error(`unparsable Dockerfile line: ${line}`);
    const op = m[1].toUpperCase();
    if (op === 'FROM') {
      const [from = '', as, name] = m[2].split(/\s+/);
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${op} before FROM`);
      stage.instructions.push({ op, args: m[2] });
    }
  }
  return stages;
}

interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
}
function copies(stage: Stage): Copy[] {
  return stage.instructions
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      const words = i.args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      const dest = paths.pop() ?? '';
      return { from, sources: paths, dest };
    });
}
const runs = (stage: Stage) => stage.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
const aptInstalls = (stage: Stage) =>
  runs(stage).flatMap((r) =>
    [...r.matchAll(/apt-get install ([^&]*)/g)].flatMap((m) =>
      (m[1] ?? '').split(/\s+/).filter((w) => w && !w.startsWith('-')),
    ),
  );

const stages = parseDockerfile(readFileSync('Dockerfile', 'utf8'));
const ignored = readFileSync('.dockerignore', 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const [build, runtime] = stages;

/** A path relative to /ambit (the WORKDIR of both stages). */
const inWorkdir = (p: string) => path.posix.relative('/ambit', path.posix.resolve('/ambit', p));

describe('Dockerfile', () => {
  it('has a build stage and a slim runtime stage, both Node 20 on Debian bookworm', () => {
    expect(stages.map((s) => [s.from, s.name])).toEqual([
      ['node:20-bookworm', 'build'],
      ['node:20-bookworm-slim', undefined],
    ]);
    for (const s of stages) expect(s.instructions.find((i) => i.op === 'WORKDIR')?.args).toBe('/ambit');
  });

  it('the build stage installs the eBPF toolchain and builds TypeScript and the bpf objects', () => {
    if (!build) throw new Error('no build stage');
    expect(aptInstalls(build).sort()).toEqual(['clang', 'libbpf-dev', 'llvm', 'make']);
    const script = runs(build).join(' && ');
    expect(script).toContain('npm ci');
    expect(script).toContain('make -s -C bpf');
    expect(script).toContain('tsc -p tsconfig.build.json');
    expect(script).toContain('npm prune --omit=dev');
  });

  it('every COPY from the build context names a path in the repo that .dockerignore keeps', () => {
    const fromContext = stages.flatMap(copies).filter((c) => c.from === undefined);
    expect(fromContext.length).toBeGreaterThan(5);
    for (const c of fromContext) {
      for (const src of c.sources) {
        expect(existsSync(src), `COPY ${src}`).toBe(true);
        const first = src.split('/')[0] ?? '';
        expect(
          ignored.filter((i) => i === src || i === first),
          `COPY ${src} is .dockerignored`,
        ).toEqual([]);
      }
    }
  });

  it('every COPY from the build stage names what that stage copied in or built', () => {
    if (!build || !runtime) throw new Error('missing stage');
    const copiedIn = new Set(
      copies(build)
        .flatMap((c) => (c.dest.endsWith('/') || c.sources.length > 1 ? c.sources : [c.dest]))
        .map(inWorkdir),
    );
    const script = runs(build).join(' && ');
    // what the build stage's RUNs make, each tied to the command that makes it
    const built: Record<string, boolean> = {
      node_modules: script.includes('npm ci'),
      dist: script.includes('tsc -p tsconfig.build.json'),
      'bpf/build': script.includes('make -s -C bpf'),
    };
    for (const c of copies(runtime).filter((x) => x.from !== undefined)) {
      expect(c.from).toBe('build');
      for (const src of c.sources.map(inWorkdir)) {
        const inCopied = [...copiedIn].some((d) => src === d || src.startsWith(`${d}/`));
        expect(inCopied || built[src] === true, `COPY --from=build ${src}`).toBe(true);
      }
    }
  });

  it('the runtime stage installs bpftool and iproute2, no compiler, and carries only what runs', () => {
    if (!runtime) throw new Error('no runtime stage');
    expect(aptInstalls(runtime).sort()).toEqual(['bpftool', 'iproute2']);
    expect(
      copies(runtime)
        .map((c) => inWorkdir(c.dest))
        .sort(),
    ).toEqual(['bin', 'bpf/Makefile', 'bpf/build', 'dist', 'node_modules', 'package.json', 'proto'].sort());
    const entrypoint = runtime.instructions.find((i) => i.op === 'ENTRYPOINT')?.args ?? '';
    expect(JSON.parse(entrypoint)).toEqual(['node', '/ambit/bin/ambit.js']);
    // bin/ambit.js runs the compiled CLI from dist/, which the runtime carries
    expect(readFileSync('bin/ambit.js', 'utf8')).toContain("'dist', 'cli', 'main.js'");
  });

  it('.dockerignore keeps local builds, dependencies and state out of the context', () => {
    expect(ignored).toEqual(expect.arrayContaining(['.git', 'node_modules', 'dist', 'bpf/build', '.ambit']));
  });
});
