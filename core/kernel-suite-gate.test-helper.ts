// When a suite that needs the kernel (root, bpftool, clang, cgroup v2) may skip: only outside CI.
// With CI set to any non-empty value (CI=true, CI=1, CI=yes...), a missing requirement fails the
// suite instead, so a CI run can never pass by skipping the tests that matter most.
// Test-only (the build excludes *.test-helper.ts); shared by core/bpf-maps and test/e2e.

/** CI is set to a non-empty value. */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.CI ?? '') !== '';
}

/**
 * Whether a kernel suite runs: true when nothing is missing; when something is, false (the suite
 * skips) outside CI, and an error naming the suite and what is missing in CI.
 */
export function kernelSuiteRuns(
  suite: string,
  missing: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (missing.length === 0) return true;
  if (inCi(env)) {
    const what = `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing`;
    throw new Error(`CI=${env.CI ?? ''}: ${suite} must not skip, but ${what}`);
  }
  return false;
}
