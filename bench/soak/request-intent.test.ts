// The soak's L7 request mix and how an answer is judged against what was asked.
import { describe, expect, it } from 'vitest';
import { judgeAnswer, requestIntent } from './request-intent.js';

describe('requestIntent', () => {
  it('1 in 100 injected, 9 in 100 retried, the rest plain', () => {
    const counts = { plain: 0, retried: 0, injected: 0 };
    for (let i = 0; i < 1000; i++) counts[requestIntent(i)]++;
    expect(counts).toStrictEqual({ plain: 890, retried: 100, injected: 10 });
  });
});

describe('judgeAnswer', () => {
  it.each([
    { description: 'plain 200', intent: 'plain', answered: '200', out: { kind: 'ok' } },
    {
      description: 'plain 502 is an error',
      intent: 'plain',
      answered: '502',
      out: { kind: 'error', what: '502' },
    },
    { description: 'retried 200', intent: 'retried', answered: '200', out: { kind: 'ok' } },
    {
      description: 'retried 503: the retry did not hide it',
      intent: 'retried',
      answered: '503',
      out: { kind: 'error', what: '503 (retry did not hide it)' },
    },
    {
      description: 'injected 503 as asked',
      intent: 'injected',
      answered: '503',
      out: { kind: 'injected', what: '503' },
    },
    {
      description: 'injected but answered 200',
      intent: 'injected',
      answered: '200',
      out: { kind: 'error', what: 'injected failure not seen' },
    },
    {
      description: 'injected but 502',
      intent: 'injected',
      answered: '502',
      out: { kind: 'error', what: '502' },
    },
  ] as const)('$description', ({ intent, answered, out }) => {
    expect(judgeAnswer(intent, answered, '200', '503')).toStrictEqual(out);
  });
});
