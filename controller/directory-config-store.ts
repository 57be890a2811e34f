// The embedded config store: every *.yaml / *.yml under a directory (recursively, multi-document),
// watched with fs.watch (debounced ~50 ms) plus a periodic rescan as a safety net. A change with
// any invalid document is rejected whole; the last good snapshot stays in force. Each directory
// gets its own non-recursive watch: Node 20's recursive fs.watch on Linux watches files by inode
// and goes blind after an editor's atomic save (write temp + rename), measured while building this.
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { formatConfigError } from '../core/model/config-error.js';
import type { ManifestFile } from '../core/model/parse-manifests.js';
import { emptyConfig, validateConfig, type FileValidation } from '../core/model/validate-config.js';
import type { ConfigSnapshot, ConfigStore, ConfigStoreStatus } from './config-store.js';
import { ctlError } from './errors.js';

export const DEBOUNCE_MS = 50;
export const RESCAN_INTERVAL_MS = 2_000;

async function listManifests(root: string): Promise<{ files: string[]; dirs: string[] }> {
  const files: string[] = [];
  const dirs: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    dirs.push(dir);
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue; // editors' swap files, .git
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && /\.ya?ml$/i.test(e.name)) files.push(p);
    }
  };
  await walk(root);
  return { files: files.sort(), dirs };
}

export class DirectoryConfigStore implements ConfigStore {
  private snapshot: ConfigSnapshot = {
    generation: 0,
    resources: emptyConfig(),
    acceptedAt: new Date().toISOString(),
  };
  private readonly listeners = new Set<(s: ConfigSnapshot) => void>();
  private lastStatus: ConfigStoreStatus;
  private readonly watchers = new Map<string, FSWatcher>();
  private debounce: NodeJS.Timeout | undefined;
  private rescan: NodeJS.Timeout | undefined;
  /** fingerprint (path, size, mtime) of what was last loaded, accepted or not */
  private fingerprint = '';
  private loading: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** per-file parse results: an edit re-parses only the files that changed */
  private readonly parsed = new Map<string, FileValidation>();

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {
    this.lastStatus = { source: `dir:${path.resolve(dir)}` };
  }

  async start(): Promise<void> {
    try {
      if (!(await stat(this.dir)).isDirectory()) throw new Error('not a directory');
    } catch (err) {
      throw ctlError(
        'CTL_CONFIG_DIR',
        `config directory ${this.dir} is not readable: ${(err as Error).message}`,
        err,
      );
    }
    await this.reload(true);
    this.rescan = setInterval(() => this.scheduleReload(), RESCAN_INTERVAL_MS);
    this.rescan.unref();
  }

  get(): ConfigSnapshot {
    return this.snapshot;
  }

  subscribe(fn: (s: ConfigSnapshot) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  status(): ConfigStoreStatus {
    return this.lastStatus;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    clearTimeout(this.debounce);
    clearInterval(this.rescan);
    await this.loading;
  }

  /** One non-recursive watch per directory; directories that vanished lose theirs. */
  private syncWatchers(dirs: string[]): void {
    if (this.closed) return;
    const want = new Set(dirs);
    for (const [d, w] of this.watchers) {
      if (!want.has(d)) {
        w.close();
        this.watchers.delete(d);
      }
    }
    for (const d of dirs) {
      if (this.watchers.has(d)) continue;
      try {
        const w = watch(d, () => this.scheduleReload());
        w.on('error', (err) => {
          this.logger.debug({ dir: d, err: err.message }, 'config watch error; periodic rescan continues');
          w.close();
          this.watchers.delete(d);
        });
        this.watchers.set(d, w);
      } catch (err) {
        this.logger.warn(
          { dir: d, err: (err as Error).message },
          'fs.watch unavailable; relying on periodic rescan',
        );
      }
    }
  }

  private scheduleReload(): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload(false), DEBOUNCE_MS);
  }

  private async reload(force: boolean): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = this.load(force).finally(() => {
      this.loading = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        void this.reload(false);
      }
    });
    return this.loading;
  }

  private async load(force: boolean): Promise<void> {
    let files: ManifestFile[];
    let fingerprint: string;
    try {
      const listing = await listManifests(this.dir);
      this.syncWatchers(listing.dirs);
      const paths = listing.files;
      const stats = await Promise.all(
        paths.map(async (p) => {
          const s = await stat(p);
          return `${p}:${s.size}:${s.mtimeMs}`;
        }),
      );
      fingerprint = stats.join('\n');
      if (!force && fingerprint === this.fingerprint) return;
      files = await Promise.all(
        paths.map(async (p) => ({ path: path.relative(this.dir, p), text: await readFile(p, 'utf8') })),
      );
    } catch (err) {
      // a file vanished between listing and reading (an editor's rename): the next event or rescan retries
      this.logger.debug({ err: (err as Error).message }, 'config scan raced with a file change; rescanning');
      this.scheduleReload();
      return;
    }
    this.fingerprint = fingerprint;
    const started = performance.now();
    const result = validateConfig(files, this.parsed);
    const validateMs = Math.round(performance.now() - started);
    const at = new Date().toISOString();
    if (!result.valid) {
      this.lastStatus = { ...this.lastStatus, lastRejected: { at, errors: result.errors } };
      this.logger.error(
        { errors: result.errors.map(formatConfigError), keptGeneration: this.snapshot.generation },
        `config change rejected (${result.errors.length} error${result.errors.length === 1 ? '' : 's'}); the last good config stays in force`,
      );
    } else {
      this.lastStatus = { source: this.lastStatus.source };
      this.snapshot = { generation: this.snapshot.generation + 1, resources: result.result, acceptedAt: at };
      this.logger.info(
        { generation: this.snapshot.generation, files: files.length, validateMs },
        'config accepted',
      );
    }
    for (const fn of this.listeners) fn(this.snapshot);
  }
}
