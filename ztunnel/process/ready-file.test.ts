// ReadyFile in a real temp directory on fake time: a file a killed predecessor left is gone at
// start, the file appears when the process is ready, follows readiness, and is removed for good
// on drain (withdraw); a directory it cannot write in fails start with ZT_BAD_FLAG naming the flag.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/policy/fake-clock.test-helper.js';
import { ReadyFile, READY_FILE_SYNC_MS } from './ready-file.js';

const logger = pino({ level: 'silent' });

describe('ReadyFile', () => {
  let dir: string;
  let file: string;
  let clock: FakeClock;
  let ready: boolean;
  let rf: ReadyFile;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ambit-ready-file-'));
    file = path.join(dir, 'ready');
    clock = new FakeClock();
    ready = false;
    rf = new ReadyFile({ path: file, ready: () => ready, logger, clock });
  });
  afterEach(() => {
    rf.withdraw();
    rmSync(dir, { recursive: true, force: true });
  });

  it('removes a file a killed predecessor left (an emptyDir outlives a container restart)', () => {
    writeFileSync(file, '{"pid":1}\n');
    rf.start();
    expect(existsSync(file)).toBe(false);
    // and leaves nothing else behind (the writability probe)
    expect(readdir()).toEqual([]);
  });

  it('is written when the process is ready, with its pid, and not before', async () => {
    rf.start();
    rf.sync();
    await clock.advance(3 * READY_FILE_SYNC_MS);
    expect(existsSync(file)).toBe(false);
    ready = true;
    rf.sync(); // what run-ztunnel does right after "ztunnel ready"
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid });
    expect(readdir()).toEqual(['ready']); // written under a temporary name, then renamed
  });

  it('follows readiness on its own timer', async () => {
    rf.start();
    ready = true;
    await clock.advance(READY_FILE_SYNC_MS);
    expect(existsSync(file)).toBe(true);
    ready = false;
    await clock.advance(READY_FILE_SYNC_MS);
    expect(existsSync(file)).toBe(false);
    ready = true;
    await clock.advance(READY_FILE_SYNC_MS);
    expect(existsSync(file)).toBe(true);
  });

  it('is removed on drain and stays removed while the old process still counts as ready', async () => {
    rf.start();
    ready = true;
    rf.sync();
    expect(existsSync(file)).toBe(true);
    rf.withdraw(); // SIGTERM: the listeners are closing, established connections still run
    expect(existsSync(file)).toBe(false);
    await clock.advance(10 * READY_FILE_SYNC_MS);
    rf.sync();
    expect(existsSync(file)).toBe(false);
    rf.withdraw(); // again on 'exit': harmless
    expect(existsSync(file)).toBe(false);
  });

  it.each([
    { name: 'a missing directory', parent: (d: string) => path.join(d, 'missing') },
    {
      name: 'a file where the directory should be',
      parent: (d: string) => {
        writeFileSync(path.join(d, 'not-a-dir'), '');
        return path.join(d, 'not-a-dir');
      },
    },
    // procfs answers ENOENT to mkdir: a recursive mkdir would loop here for ever
    { name: 'a directory in /proc', parent: () => '/proc/ambit-no-such-dir' },
  ])('fails start with ZT_BAD_FLAG naming --ready-file: $name', ({ parent }) => {
    const bad = new ReadyFile({ path: path.join(parent(dir), 'ready'), ready: () => true, logger, clock });
    expect(() => bad.start()).toThrow(
      expect.objectContaining({ code: 'ZT_BAD_FLAG', message: expect.stringMatching(/^--ready-file: /) }),
    );
  });

  const readdir = (): string[] => readdirSync(dir).sort();
});
