// SO_LINGER 0 on loopback: a process killed with SIGKILL resets the connection its peer had
// half-closed (without it the peer reads a clean EOF, the reply silently missing), and the
// graceful path (endGracefully) still delivers every byte and a FIN.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { constants } from 'node:os';
import { endGracefully, pendingSocketError, resetOnProcessDeath, socketFd } from './abortive-close.js';
import { until } from '../../local-cluster/until.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const viteNode = path.join(here, '../../node_modules/.bin/vite-node');
const children: ChildProcess[] = [];
const servers: net.Server[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of servers.splice(0)) s.close();
});

const errnoName = (n: number): string | undefined =>
  n === 0 ? undefined : Object.entries(constants.errno).find(([, v]) => v === n)?.[0];

/** Spawns the child server with `args`; resolves once it listens, with its port and its stdout so far. */
async function startChild(
  args: string[],
): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(viteNode, [path.join(here, 'abortive-close.child.ts'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  await until('the child to listen', () => /port \d+/.test(out), 30_000);
  return { child, port: Number(/port (\d+)/.exec(out)?.[1]), output: () => out };
}

/** How the client's half-closed connection ends once the server process is SIGKILLed. */
async function killedServerOutcome(
  linger: boolean,
  replyBytes = 0,
): Promise<{ ending: string; reply: number; queued: number }> {
  const { child, port, output } = await startChild([
    ...(linger ? ['--linger'] : []),
    ...(replyBytes > 0 ? ['--reply', String(replyBytes)] : []),
  ]);
  const client = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  let ending = '';
  let reply = 0;
  // not reading before the kill: a reply stays queued in the child (its kernel buffers fill)
  client.pause();
  client.on('data', (b: Buffer) => (reply += b.length));
  // Node (libuv) reports a reset behind unread data as EOF: SO_ERROR says which it was
  client.on('end', () => (ending ||= errnoName(pendingSocketError(client)) ?? 'eof'));
  client.on('error', (e: NodeJS.ErrnoException) => (ending ||= e.code ?? e.message));
  client.on('close', () => (ending ||= 'closed'));
  client.end(Buffer.alloc(1000, 1));
  await until('the child to read the request', () => output().includes('read 1000'), 10_000);
  child.kill('SIGKILL');
  await new Promise<void>((r) => child.once('exit', () => r()));
  client.resume();
  await until('the client to see the end', () => ending !== '', 10_000);
  client.destroy();
  return { ending, reply, queued: Number(/queued (\d+)/.exec(output())?.[1] ?? 0) };
}

describe('SO_LINGER 0 (resetOnProcessDeath)', () => {
  it('a SIGKILLed process resets the connection its peer half-closed', async () => {
    expect(await killedServerOutcome(true)).toEqual({ ending: 'ECONNRESET', reply: 0, queued: 0 });
  }, 60_000);

  it('without it the peer reads a clean EOF with the reply missing (the silent loss)', async () => {
    expect(await killedServerOutcome(false)).toEqual({ ending: 'eof', reply: 0, queued: 0 });
  }, 60_000);

  it('endGracefully with bytes still queued in the process: a SIGKILL resets, never a FIN after part of them', async () => {
    const size = 32 * 1024 * 1024;
    const r = await killedServerOutcome(true, size);
    // the process still held part of the reply when it died (the client had not read any)
    expect(r.queued).toBeGreaterThan(0);
    expect(r.reply).toBeLessThan(size);
    expect(r.ending).toBe('ECONNRESET');
  }, 60_000);

  it('after our FIN, with every byte acknowledged, a SIGKILL resets the direction still open', async () => {
    const { child, port, output } = await startChild(['--linger', '--answer-first']);
    const client = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let answer = '';
    let ended = false;
    client.on('data', (b: Buffer) => (answer += b.toString()));
    client.on('end', () => (ended = true));
    client.on('error', () => undefined);
    await until('the answer and its FIN', () => ended && output().includes('ended'), 10_000);
    await new Promise((r) => setTimeout(r, 100)); // the FIN's ACK on its way back
    child.kill('SIGKILL');
    // the client (CLOSE_WAIT, it never sent its FIN) holds the reset as EPIPE; without it nothing
    // would tell it that what it still sends has no reader
    const err = await until(
      'the client to hold the reset',
      () => errnoName(pendingSocketError(client)),
      10_000,
    );
    client.destroy();
    expect({ answer, err }).toEqual({ answer: 'answer', err: 'EPIPE' });
  }, 60_000);

  it("a reset right behind data reads as 'end' in Node; pendingSocketError tells it apart", async () => {
    let resetDone = false;
    const server = net.createServer((s) => {
      s.write(Buffer.alloc(100_000, 1), () =>
        setTimeout(() => {
          s.resetAndDestroy();
          resetDone = true;
        }, 50),
      );
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
    const { port } = server.address() as net.AddressInfo;
    const client = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    client.pause(); // the reset arrives while the bytes wait unread
    let got = 0;
    let ending = '';
    client.on('data', (b: Buffer) => (got += b.length));
    client.on('end', () => (ending = `end, SO_ERROR ${errnoName(pendingSocketError(client)) ?? 0}`));
    client.on('error', (e: NodeJS.ErrnoException) => (ending ||= e.code ?? e.message));
    await until('the server to reset', () => resetDone, 5_000);
    await new Promise((r) => setTimeout(r, 100)); // the RST on its way over loopback
    client.resume();
    await until('the client to see the end', () => ending !== '', 10_000);
    client.destroy();
    expect({ got, ending }).toEqual({ got: 100_000, ending: 'end, SO_ERROR ECONNRESET' });
  }, 60_000);

  it('endGracefully still delivers every byte and a FIN after a half-close', async () => {
    const size = 16 * 1024 * 1024;
    let serverClosedClean: boolean | undefined;
    let serverEnded = false;
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      resetOnProcessDeath(s);
      expect(socketFd(s)).toBeGreaterThan(0);
      let req = 0;
      s.on('data', (b: Buffer) => (req += b.length));
      s.on('end', () => {
        s.write(Buffer.alloc(size, req % 251));
        endGracefully(s);
        serverEnded = true;
      });
      s.on('close', (hadError) => (serverClosedClean = !hadError));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
    const { port } = server.address() as net.AddressInfo;
    const client = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let got = 0;
    let ended = false;
    let error: string | undefined;
    client.pause();
    client.on('data', (b: Buffer) => (got += b.length));
    client.on('end', () => (ended = true));
    client.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
    client.end(Buffer.alloc(1000, 1));
    // the reply fills the server's kernel send queue before end(): the close that follows the
    // FIN must still let every queued byte out
    await until('the server to end', () => serverEnded, 20_000);
    client.resume();
    await until('the client to end', () => ended || error !== undefined, 20_000);
    await until('the server to close', () => serverClosedClean !== undefined, 20_000);
    expect({ got, ended, error, serverClosedClean }).toEqual({
      got: size,
      ended: true,
      error: undefined,
      serverClosedClean: true,
    });
    client.destroy();
  }, 60_000);
});
