// The one way an Ambit component fails: an AmbitError with a stable machine-readable `code`, a
// `hint` for the operator and the underlying `cause` chained. Each component declares its codes
// and their hints once, in one table in its own errors.ts, through defineErrors(); the codes are
// then a typed union and every throw site gets the table's hint. Nothing here knows any code.

export interface AmbitErrorOptions {
  cause?: unknown;
  hint?: string | undefined;
}

export class AmbitError<C extends string = string> extends Error {
  readonly code: C;
  readonly hint: string | undefined;

  constructor(code: C, message: string, opts: AmbitErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = opts.hint;
  }
}

/**
 * Several failures of one operation (one reconcile attaching many programs), kept as a list in
 * `errors`. The message still names each cause, so the one-line CLI output and a log line read
 * whole; code that needs the parts reads `errors`, never the message.
 */
export class AmbitAggregateError<C extends string = string> extends AmbitError<C> {
  readonly errors: readonly Error[];

  constructor(
    code: C,
    summary: string,
    errors: readonly Error[],
    opts: Omit<AmbitErrorOptions, 'cause'> = {},
  ) {
    super(code, `${summary}: ${errors.map(describeError).join('; ')}`, opts);
    this.errors = errors;
  }
}

/** `CODE: message` for an error with a code, the message otherwise. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** A component's table: every code it may throw and the operator hint that goes with it. */
export type ErrorHints<C extends string> = { readonly [K in C]: string | undefined };

export interface ErrorFactory<C extends string, E extends AmbitError<C>> {
  /**
   * The error for `code`, its hint taken from the table unless `hint` gives a more specific one
   * for this site (an errno that says more than the code).
   */
  (code: C, message: string, cause?: unknown, hint?: string): E;
  /** The table, for docs and tests. */
  readonly hints: ErrorHints<C>;
  /** Several failures of one operation under one code, kept as a list (AmbitAggregateError). */
  aggregate(code: C, summary: string, errors: readonly Error[]): AmbitAggregateError<C>;
  /** Whether `err` is one of this component's errors, and when codes are given, one of them. */
  is(err: unknown, ...codes: readonly C[]): err is E;
}

/**
 * Declares a component's errors: its class (so `instanceof ZtunnelError` keeps working) and its
 * table of codes and hints. Returns the factory every throw site of that component uses.
 */
export function defineErrors<C extends string, E extends AmbitError<C>>(
  ErrorClass: new (code: C, message: string, opts: AmbitErrorOptions) => E,
  hints: ErrorHints<C>,
): ErrorFactory<C, E> {
  const make = (code: C, message: string, cause?: unknown, hint?: string): E =>
    new ErrorClass(code, message, { cause, hint: hint ?? hints[code] });
  const is = (err: unknown, ...codes: readonly C[]): err is E =>
    err instanceof ErrorClass && (codes.length === 0 || codes.includes(err.code));
  const aggregate = (code: C, summary: string, errors: readonly Error[]): AmbitAggregateError<C> =>
    new AmbitAggregateError(code, summary, errors, { hint: hints[code] });
  return Object.assign(make, { hints, aggregate, is });
}
