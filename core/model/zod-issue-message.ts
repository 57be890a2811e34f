// Turns a zod issue into the short message an operator reads ("required", "must be a number, got
// string", "unknown field \"x\""). Custom messages written in the schemas pass through.
import type { z } from 'zod';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string "${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
  return `${typeof v} ${String(v)}`;
}

const EXPECTED: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
};

export function zodIssueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'required';
      return `must be ${EXPECTED[issue.expected] ?? issue.expected}, got ${describe(issue.input)}`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}${issue.input === undefined ? '' : `, got ${JSON.stringify(issue.input)}`}`
        : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${
            issue.input === undefined ? '' : `, got ${JSON.stringify(issue.input)}`
          }`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_union':
      return issue.message.startsWith('Invalid input') ? 'has an invalid value' : issue.message;
    default:
      return issue.message;
  }
}
