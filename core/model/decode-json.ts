// One JSON text checked against a zod schema, for the agent's small local files and sockets (the
// restore cache, the pod start gate): the value, or one line naming every problem with its field
// path ("not JSON (...)", "pod: Required; ..."). `whole` names the text itself when an issue is
// about all of it.
import type { z } from 'zod';

export type JsonDecoded<T> = { ok: true; value: T } | { ok: false; error: string };

export function decodeJson<T>(schema: z.ZodType<T>, text: string, whole: string): JsonDecoded<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not JSON (${(err as Error).message})` };
  }
  const r = schema.safeParse(json);
  if (!r.success)
    return {
      ok: false,
      error: r.error.issues.map((i) => `${i.path.join('.') || whole}: ${i.message}`).join('; '),
    };
  return { ok: true, value: r.data };
}
