// Test child for abortive-close.test.ts (run with vite-node): listens on loopback, prints its
// port, and on one connection sets SO_LINGER 0 and reads everything the client sends up to its
// FIN, then prints "read N" and waits, never answering, for the test to SIGKILL it.
import net from 'node:net';
import { resetOnProcessDeath } from './abortive-close.js';

const linger = process.argv.includes('--linger');
const server = net.createServer({ allowHalfOpen: true }, (s) => {
  if (linger) resetOnProcessDeath(s);
  let n = 0;
  s.on('data', (b: Buffer) => (n += b.length));
  s.on('end', () => process.stdout.write(`read ${n}\n`));
});
server.listen({ host: '127.0.0.1', port: 0 }, () => {
  const a = server.address();
  if (a && typeof a === 'object') process.stdout.write(`port ${a.port}\n`);
});
