// The sample app every local-cluster pod runs (inside the pod's netns and cgroup): an HTTP
// server on 8080 answering with who it is and who called, and a TCP echo on 9000 that echoes
// everything back. A bulk mode on the echo port (`SEND <n>\n`) streams n bytes for long
// transfer tests. Usage: node pod-app.js <pod-name>
import http from 'node:http';
import net from 'node:net';

const podName = process.argv[2] ?? 'pod';
const httpPort = Number(process.env.AMBIT_POD_HTTP_PORT ?? 8080);
const echoPort = Number(process.env.AMBIT_POD_ECHO_PORT ?? 9000);

http
  .createServer((req, res) => {
    let size = 0;
    req.on('data', (c: Buffer) => (size += c.length));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({ pod: podName, from: req.socket.remoteAddress, path: req.url, received: size }) +
          '\n',
      );
    });
  })
  .listen(httpPort);

net
  .createServer((sock) => {
    sock.on('error', () => undefined);
    let head = '';
    let decided = false;
    sock.on('data', (chunk: Buffer) => {
      if (decided) {
        sock.write(chunk);
        return;
      }
      head += chunk.toString('latin1');
      const m = /^SEND (\d+)\n/.exec(head);
      if (m) {
        decided = true;
        streamBytes(sock, Number(m[1]));
        return;
      }
      if (head.length >= 5 || head.includes('\n')) {
        decided = true;
        sock.write(Buffer.from(head, 'latin1'));
      }
    });
    sock.on('end', () => sock.end());
  })
  .listen(echoPort);

/** Streams n bytes in 64 KiB chunks, honouring backpressure, then ends. */
function streamBytes(sock: net.Socket, n: number): void {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let left = n;
  const pump = (): void => {
    while (left > 0) {
      const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= part.length;
      if (!sock.write(part)) {
        sock.once('drain', pump);
        return;
      }
    }
    sock.end();
  };
  pump();
}

process.on('SIGTERM', () => process.exit(0));
process.stdout.write(`ready ${podName}\n`);
