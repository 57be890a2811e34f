import { describe, expect, it } from 'vitest';
import { newSpanId, newTraceId } from './trace-ids.js';

describe('trace ids from the pooled buffer', () => {
  it('are lower-case hex of the right length, non-zero, and distinct across pool refills', () => {
    const spans = new Set<string>();
    const traces = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      // 2,000 x 24 bytes crosses the 4 KiB pool about a dozen times
      const s = newSpanId();
      const t = newTraceId();
      expect(s).toMatch(/^[0-9a-f]{16}$/);
      expect(t).toMatch(/^[0-9a-f]{32}$/);
      expect(s).not.toBe('0'.repeat(16));
      expect(t).not.toBe('0'.repeat(32));
      spans.add(s);
      traces.add(t);
    }
    expect(spans.size).toBe(2000);
    expect(traces.size).toBe(2000);
  });
});
