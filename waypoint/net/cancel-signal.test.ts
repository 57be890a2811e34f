import { describe, expect, it } from 'vitest';
import { CancelSignal, type Cancellation } from './cancel-signal.js';

describe('CancelSignal', () => {
  it('tells each listener once, not one removed, and none added after the abort', () => {
    const s = new CancelSignal();
    const calls: string[] = [];
    const a = () => calls.push('a');
    const b = () => calls.push('b');
    s.addEventListener('abort', a);
    s.addEventListener('abort', b, { once: true });
    s.removeEventListener('abort', b);
    expect(s.aborted).toBe(false);
    s.abort();
    s.abort();
    s.addEventListener('abort', () => calls.push('late'));
    expect(s.aborted).toBe(true);
    expect(calls).toEqual(['a']);
  });

  it('is interchangeable with an AbortSignal where an attempt reads one', () => {
    const c = new AbortController();
    const read = (x: Cancellation) => x.aborted;
    c.abort();
    expect(read(c.signal)).toBe(true);
    expect(read(new CancelSignal())).toBe(false);
  });
});
