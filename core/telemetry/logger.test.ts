import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, logLevelFromEnv } from './logger.js';

function capture(): { stream: PassThrough; lines: () => string[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, lines: () => text.split('\n').filter((l) => l !== '') };
}

describe('logLevelFromEnv', () => {
  it.each([
    [{}, 'info'],
    [{ AMBIT_LOG_LEVEL: '' }, 'info'],
    [{ AMBIT_LOG_LEVEL: ' debug ' }, 'debug'],
    [{ AMBIT_LOG_LEVEL: 'warn' }, 'warn'],
  ])('%j -> %s', (env, want) => expect(logLevelFromEnv(env)).toBe(want));
});

describe('createLogger', () => {
  it('names the component, puts the base fields and pid on every line, once each', async () => {
    const out = capture();
    const logger = createLogger('agent', {
      base: { node: 'node-1' },
      level: 'info',
      destination: out.stream,
    });
    logger.info('agent ready');
    logger.child({ worker: 2 }).warn({ pods: 3 }, 'pod not enrolled');
    logger.debug('not at info');
    await new Promise((r) => setImmediate(r));
    const lines = out.lines();
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l.match(/"node":/g)).toHaveLength(1);
      expect(l.match(/"pid":/g)).toHaveLength(1);
      expect(JSON.parse(l)).toMatchObject({ name: 'agent', node: 'node-1', pid: process.pid });
    }
    expect(JSON.parse(lines[1] ?? '')).toMatchObject({
      level: 40,
      worker: 2,
      pods: 3,
      msg: 'pod not enrolled',
    });
  });

  it.each([
    ['debug', ['d', 'i', 'w']],
    ['info', ['i', 'w']],
    ['warn', ['w']],
    ['silent', []],
  ])('level %s lets through %j', async (level, want) => {
    const out = capture();
    const logger = createLogger('controller', { level, destination: out.stream });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    await new Promise((r) => setImmediate(r));
    expect(out.lines().map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(want);
  });

  it('refuses an unknown level with LOG_BAD_LEVEL', () => {
    expect(() => createLogger('ztunnel', { level: 'loud' })).toThrow(
      expect.objectContaining({ code: 'LOG_BAD_LEVEL' }) as Error,
    );
  });
});
