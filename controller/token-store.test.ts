import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { looksLikeScopedToken, TOKENS_FILE, TokenStore } from './token-store.js';

const dirs: string[] = [];
const stateDir = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'ambit-token-store-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('TokenStore', () => {
  it('creates <id>.<secret>, stores only a hash, 0600, and authenticates it', async () => {
    const dir = stateDir();
    const store = await TokenStore.open(dir, () => Date.parse('2026-01-01T00:00:00Z'));
    const { token, record } = await store.create({ kind: 'node', node: 'node-1' });
    expect(looksLikeScopedToken(token)).toBe(true);
    expect(token.startsWith(`${record.id}.`)).toBe(true);
    const file = path.join(dir, TOKENS_FILE);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(token.split('.')[1]);
    expect(text).toContain(record.secretSha256);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(store.authenticate(token)).toEqual({ ok: true, record });
    expect(record).toMatchObject({
      scope: { kind: 'node', node: 'node-1' },
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    expect(record.expiresAt).toBeUndefined();
  });

  it.each([
    ['the join token shape', 'a'.repeat(64), 'the bearer token is not a token of this controller'],
    ['a wrong secret for a known id', 'WRONG', 'is not a token of this controller'],
    ['an unknown id', 'ffffffffffff.' + 'A'.repeat(43), 'the bearer token ffffffffffff is not a token'],
  ])('refuses %s', async (_d, presented, reason) => {
    const store = await TokenStore.open(stateDir());
    const { token } = await store.create({ kind: 'node', node: 'n1' });
    const p = presented === 'WRONG' ? `${token.split('.')[0]}.${'B'.repeat(43)}` : presented;
    const r = store.authenticate(p);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });

  it('expires on the injected clock and refuses a revoked token; both persist across reopen', async () => {
    const dir = stateDir();
    let now = Date.parse('2026-01-01T00:00:00Z');
    const store = await TokenStore.open(dir, () => now);
    const a = await store.create({ kind: 'node', node: 'n1' }, 3600_000);
    const b = await store.create({ kind: 'waypoint', waypoint: 'shop/wp' });
    expect(a.record.expiresAt).toBe('2026-01-01T01:00:00.000Z');
    now += 3600_000 - 1;
    expect(store.authenticate(a.token).ok).toBe(true);
    now += 1;
    expect(store.authenticate(a.token)).toEqual({
      ok: false,
      reason: `token ${a.record.id} expired at 2026-01-01T01:00:00.000Z`,
    });
    await store.revoke(b.record.id);
    expect(store.standing(b.record.id)).toEqual({
      ok: false,
      reason: `token ${b.record.id} was revoked at 2026-01-01T01:00:00.000Z`,
    });
    const again = await TokenStore.open(dir, () => now);
    expect(again.list().map((r) => [r.id, r.revokedAt ?? '-'])).toEqual([
      [a.record.id, '-'],
      [b.record.id, '2026-01-01T01:00:00.000Z'],
    ]);
    expect(again.authenticate(b.token).ok).toBe(false);
    expect(again.standing('000000000000')).toEqual({
      ok: false,
      reason: 'token 000000000000 is unknown to this controller',
    });
  });

  it.each([
    [{ kind: 'node' as const, node: 'Node 1' }, 'is not a valid Node name'],
    [{ kind: 'node' as const, node: 'n1,n2' }, 'is not a valid Node name'],
    [{ kind: 'waypoint' as const, waypoint: 'shop' }, 'is not <namespace>/<gateway>'],
  ])('refuses to create a token for %j', async (scope, message) => {
    const store = await TokenStore.open(stateDir());
    await expect(store.create(scope)).rejects.toMatchObject({
      code: 'CTL_TOKEN_SCOPE',
      message: expect.stringContaining(message),
    });
  });

  it('says which id is unknown on revoke', async () => {
    const store = await TokenStore.open(stateDir());
    await expect(store.revoke('nope')).rejects.toMatchObject({ code: 'CTL_TOKEN_NOT_FOUND' });
  });
});
