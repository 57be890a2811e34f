// Wraps a subcommand's action so every failure ends as one line on stderr naming the cause and a
// non-zero exit code (DESIGN.md §8). Components throw errors with a stable `code`; we print it.
export function runAction<A extends unknown[]>(
  fn: (...args: A) => Promise<void> | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const e = err as { code?: unknown; message?: string; hint?: string };
      const code = typeof e.code === 'string' ? `${e.code}: ` : '';
      const hint = e.hint ? ` (${e.hint})` : '';
      process.stderr.write(`ambit: ${code}${(e.message ?? String(err)).split('\n')[0]}${hint}\n`);
      process.exit(1);
    }
  };
}
