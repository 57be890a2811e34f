// A minimal OTLP/HTTP trace receiver for the local cluster's e2e tests: listens on HOST:PORT
// (inside the control netns, where waypoint pods can reach it), accepts the JSON the
// @opentelemetry/exporter-trace-otlp-http exporter posts to /v1/traces, and prints one JSON line
// per span (name, kind, ids, service.name) on stdout for the test to read.
// Usage: node otlp-receiver.js <host> <port>
import http from 'node:http';

interface OtlpSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value?: { stringValue?: string } }[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

const [host = '127.0.0.1', port = '4318'] = process.argv.slice(2);
http
  .createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
        for (const rs of doc.resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue;
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? [])
              process.stdout.write(
                JSON.stringify({
                  span: s.name,
                  kind: s.kind,
                  traceId: s.traceId,
                  spanId: s.spanId,
                  parentSpanId: s.parentSpanId ?? '',
                  service,
                }) + '\n',
              );
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      } catch {
        res.writeHead(400);
        res.end();
      }
    });
  })
  .listen(Number(port), host, () => process.stdout.write(`otlp receiver on ${host}:${port}\n`));
process.on('SIGTERM', () => process.exit(0));
