// Test child for abortive-close.test.ts (run with vite-node): listens on loopback, prints its
// port, and on one connection reads everything the client sends up to its FIN, then prints
// "read N" and waits for the test to SIGKILL it. --linger: SO_LINGER 0 on the connection first.
// --reply N: then answers N bytes and ends with endGracefully() (the client does not read yet, so
// most of them are still queued in this process) and prints "queued M" (bytes Node still holds).
// --answer-first: answers and ends at once, before the client's FIN, and prints "ended".
import net from 'node:net';
import { endGracefully, resetOnProcessDeath } from './abortive-close.js';

const linger = process.argv.includes('--linger');
const replyAt = process.argv.indexOf('--reply');
const reply = replyAt > 0 ? Number(process.argv[replyAt + 1]) : 0;
const answerFirst = process.argv.includes('--answer-first');
const server = net.createServer({ allowHalfOpen: true }, (s) => {
  if (linger) resetOnProcessDeath(s);
  let n = 0;
  s.on('data', (b: Buffer) => (n += b.length));
  if (answerFirst) {
    // answer and end at once, the client's direction still open; "ended" once the FIN is out
    s.write('answer');
    endGracefully(s);
    s.once('finish', () => process.stdout.write('ended\n'));
  }
  s.on('end', () => {
    if (reply > 0) {
      s.write(Buffer.alloc(reply, 7));
      endGracefully(s);
      process.stdout.write(`queued ${s.writableLength}\n`);
    }
    process.stdout.write(`read ${n}\n`);
  });
});
server.listen({ host: '127.0.0.1', port: 0 }, () => {
  const a = server.address();
  if (a && typeof a === 'object') process.stdout.write(`port ${a.port}\n`);
});
