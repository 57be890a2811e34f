import { describe, expect, it } from 'vitest';
import { inCi, kernelSuiteRuns } from './kernel-suite-gate.test-helper.js';

describe('kernelSuiteRuns', () => {
  it.each([
    { ci: undefined, missing: [], want: true },
    { ci: '', missing: [], want: true },
    { ci: 'true', missing: [], want: true },
    { ci: undefined, missing: ['root'], want: false },
    { ci: '', missing: ['root'], want: false },
  ])('CI=$ci, missing $missing: runs=$want', ({ ci, missing, want }) => {
    expect(kernelSuiteRuns('the suite', missing, ci === undefined ? {} : { CI: ci })).toBe(want);
  });

  it.each(['true', '1', 'yes', 'TRUE', 'false'])('refuses to skip with CI=%s', (ci) => {
    expect(() => kernelSuiteRuns('the kernel e2e tests', ['root'], { CI: ci })).toThrow(
      `CI=${ci}: the kernel e2e tests must not skip, but root is missing`,
    );
  });

  it('names everything that is missing', () => {
    expect(() => kernelSuiteRuns('the BTF layout test', ['clang', 'bpftool'], { CI: '1' })).toThrow(
      'CI=1: the BTF layout test must not skip, but clang and bpftool are missing',
    );
  });

  it.each([
    { env: {}, want: false },
    { env: { CI: '' }, want: false },
    { env: { CI: 'true' }, want: true },
    { env: { CI: '1' }, want: true },
  ])('inCi($env) is $want', ({ env, want }) => {
    expect(inCi(env)).toBe(want);
  });
});
