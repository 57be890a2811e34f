// The controller's store of scoped bootstrap tokens (DESIGN.md §2, §8), kept in
// <state-dir>/tokens.json (0600). A token is `<id>.<secret>`; only a SHA-256 of the secret is
// stored, with the id, scope, creation, expiry and revocation times. It answers two questions:
// does a presented token authenticate (bootstrap), and is a token still in good standing (renewal
// of a certificate issued under it). The controller is the only writer while it runs; tokens
// written before it starts (a harness, offline) are loaded at start.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ctlError } from './errors.js';
import { scopeProblem, type TokenScope } from './token-scope.js';

export const TOKENS_FILE = 'tokens.json';

export interface TokenRecord {
  id: string;
  scope: TokenScope;
  /** hex SHA-256 of the secret part */
  secretSha256: string;
  createdAt: string;
  /** absent: the token does not expire */
  expiresAt?: string;
  revokedAt?: string;
}

export type TokenCheck = { ok: true; record: TokenRecord } | { ok: false; reason: string };

const ID = /^[0-9a-f]{12}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

/** Whether a bearer string has the shape of a scoped token (`<12 hex>.<43 base64url>`). */
export function looksLikeScopedToken(s: string): boolean {
  const dot = s.indexOf('.');
  return dot > 0 && ID.test(s.slice(0, dot)) && SECRET.test(s.slice(dot + 1));
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function isRecord(v: unknown): v is TokenRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  const scope = r.scope as Record<string, unknown> | undefined;
  return (
    typeof r.id === 'string' &&
    typeof r.secretSha256 === 'string' &&
    typeof r.createdAt === 'string' &&
    typeof scope === 'object' &&
    ((scope.kind === 'node' && typeof scope.node === 'string') ||
      (scope.kind === 'waypoint' && typeof scope.waypoint === 'string'))
  );
}

export class TokenStore {
  private readonly byId = new Map<string, TokenRecord>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private readonly now: () => number,
  ) {}

  /** Loads <stateDir>/tokens.json when it exists. */
  static async open(stateDir: string, now: () => number = Date.now): Promise<TokenStore> {
    const store = new TokenStore(path.join(stateDir, TOKENS_FILE), now);
    let text: string | undefined;
    try {
      text = await readFile(store.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw ctlError('CTL_TOKEN_STORE', `cannot read ${store.file}: ${(err as Error).message}`, err);
      }
    }
    if (text !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw ctlError('CTL_TOKEN_STORE', `${store.file} is not JSON: ${(err as Error).message}`, err);
      }
      const tokens = (parsed as { tokens?: unknown }).tokens;
      if (!Array.isArray(tokens) || !tokens.every(isRecord)) {
        throw ctlError('CTL_TOKEN_STORE', `${store.file} does not hold {"tokens": [...]} token records`);
      }
      for (const r of tokens) store.byId.set(r.id, r);
    }
    return store;
  }

  /** Makes a token for one node or waypoint; the secret is returned once and never stored. */
  async create(scope: TokenScope, ttlMs?: number): Promise<{ token: string; record: TokenRecord }> {
    const problem = scopeProblem(scope);
    if (problem) throw ctlError('CTL_TOKEN_SCOPE', problem);
    if (ttlMs !== undefined && !(ttlMs > 0)) throw ctlError('CTL_TOKEN_SCOPE', `--ttl must be positive`);
    let id = randomBytes(6).toString('hex');
    while (this.byId.has(id)) id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const now = this.now();
    const record: TokenRecord = {
      id,
      scope,
      secretSha256: sha256(secret),
      createdAt: new Date(now).toISOString(),
      ...(ttlMs !== undefined ? { expiresAt: new Date(now + ttlMs).toISOString() } : {}),
    };
    this.byId.set(id, record);
    await this.persist();
    return { token: `${id}.${secret}`, record };
  }

  list(): TokenRecord[] {
    return [...this.byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Marks a token revoked (idempotent: a second revoke keeps the first time). */
  async revoke(id: string): Promise<TokenRecord> {
    const r = this.byId.get(id);
    if (!r) throw ctlError('CTL_TOKEN_NOT_FOUND', `no token with id ${id}`);
    if (!r.revokedAt) {
      r.revokedAt = new Date(this.now()).toISOString();
      await this.persist();
    }
    return r;
  }

  /** Whether the token with this id may still be used: known, not revoked, not expired. */
  standing(id: string): TokenCheck {
    const r = this.byId.get(id);
    if (!r) return { ok: false, reason: `token ${id} is unknown to this controller` };
    if (r.revokedAt) return { ok: false, reason: `token ${id} was revoked at ${r.revokedAt}` };
    if (r.expiresAt && this.now() >= Date.parse(r.expiresAt)) {
      return { ok: false, reason: `token ${id} expired at ${r.expiresAt}` };
    }
    return { ok: true, record: r };
  }

  /** Checks a presented `<id>.<secret>`: the secret's hash must match (constant time) and the token stand. */
  authenticate(presented: string): TokenCheck {
    if (!looksLikeScopedToken(presented)) {
      return { ok: false, reason: 'the bearer token is not a token of this controller' };
    }
    const dot = presented.indexOf('.');
    const id = presented.slice(0, dot);
    const r = this.byId.get(id);
    const want = Buffer.from(r?.secretSha256 ?? '0'.repeat(64), 'hex');
    const got = Buffer.from(sha256(presented.slice(dot + 1)), 'hex');
    if (!r || !timingSafeEqual(want, got)) {
      return { ok: false, reason: `the bearer token ${id} is not a token of this controller` };
    }
    return this.standing(id);
  }

  /** Writes the file atomically (tmp + rename, 0600); writes are serialised. */
  private persist(): Promise<void> {
    const text = `${JSON.stringify({ tokens: this.list() }, null, 2)}\n`;
    const tmp = `${this.file}.${process.pid}.tmp`;
    const write = async (): Promise<void> => {
      try {
        await writeFile(tmp, text, { mode: 0o600 });
        await chmod(tmp, 0o600);
        await rename(tmp, this.file);
      } catch (err) {
        throw ctlError('CTL_TOKEN_STORE', `cannot write ${this.file}: ${(err as Error).message}`, err);
      }
    };
    this.writing = this.writing.then(write, write);
    return this.writing;
  }
}
