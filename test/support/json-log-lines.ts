// Splits a child process's stdout into pino JSON log lines as chunks arrive, for the process
// harnesses (controller, ztunnel): lines that are not JSON are skipped, a partial line waits for
// the next chunk.
export function jsonLogLines(push: (line: Record<string, unknown>) => void): (chunk: string) => void {
  let partial = '';
  return (chunk) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) {
      try {
        push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  };
}
