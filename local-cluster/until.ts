// The one bounded wait for a condition, for `ambit demo` and the local cluster as for the test
// suites (test/support/until.ts re-exports it): polls `fn` until it returns something other than
// undefined/false, or throws naming `what` after `timeoutMs`. It must not be used as a sleep.
export async function until<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 15_000,
  stepMs = 25,
): Promise<Exclude<T, false>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as Exclude<T, false>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
