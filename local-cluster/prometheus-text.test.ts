import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from './prometheus-text.js';

describe('parsePrometheusText', () => {
  it('reads samples with labels, skipping comments', () => {
    const text = [
      '# HELP istio_tcp_connections_opened_total x',
      '# TYPE istio_tcp_connections_opened_total counter',
      'istio_tcp_connections_opened_total{reporter="source",source_workload="client-1",response_flags="-"} 3',
      'istio_tcp_sent_bytes_total{reporter="source",note="a \\"q\\" b"} 1.5e3',
      'up 1',
    ].join('\n');
    expect(parsePrometheusText(text)).toEqual([
      {
        name: 'istio_tcp_connections_opened_total',
        labels: { reporter: 'source', source_workload: 'client-1', response_flags: '-' },
        value: 3,
      },
      { name: 'istio_tcp_sent_bytes_total', labels: { reporter: 'source', note: 'a "q" b' }, value: 1500 },
      { name: 'up', labels: {}, value: 1 },
    ]);
  });
});
