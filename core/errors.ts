// The base error every Ambit component extends: a stable machine-readable `code`, a `hint` for
// the operator, and the underlying `cause` chained. Components add their own classes in their
// own errors.ts (ZT_*, CTL_*, AG_*, WP_*).
export class AmbitError extends Error {
  readonly code: string;
  readonly hint?: string;

  constructor(code: string, message: string, opts: { cause?: unknown; hint?: string } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = opts.hint;
  }
}
