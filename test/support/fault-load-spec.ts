// What the fault load generator is asked to do and what it reports: shared by the in-pod client
// (fault-load-client.ts) and the host side (fault-load.ts). Shapes only.

export interface FaultLoadSpec {
  host: string;
  port: number;
  /** Stop opening connections after this long, then let the open ones finish (up to drainMs). */
  durationMs: number;
  /** Long-lived connections kept open at all times (a failed or finished one is replaced). */
  long?: {
    count: number;
    /** Bytes written every intervalMs while less than `window` bytes wait for their echo. */
    chunk: number;
    intervalMs: number;
    window: number;
    /** Each long connection ends itself (FIN, then all echoes and EOF) after this long; 0 = never. */
    lifetimeMs: number;
  };
  /** Short connections: open, send `bytes`, FIN, expect the exact echo and EOF. */
  short?: { perSecond: number; bytes: number };
  /** One bulk echo transfer whose reader pauses (the backpressure fault). */
  bulk?: { bytes: number; chunk: number; window: number; pauseEvery: number; pauseMs: number };
  /** A connect (or the first echoed byte) not done by then counts as refused. */
  connectTimeoutMs: number;
  /** Bytes outstanding and nothing received for this long (reader not paused): a hang. */
  stallMs: number;
  /** After durationMs (or SIGTERM), how long open connections get to finish. */
  drainMs: number;
}

export type Outcome =
  /** everything sent came back, then EOF after our FIN */
  | 'ok'
  /** ECONNREFUSED, connect timeout, or closed before any byte came back */
  | 'refused'
  /** RST, or EOF before our FIN, after bytes flowed: visible to the application */
  | 'reset'
  /** EOF after our FIN with bytes missing or different: a silent loss (the mesh must never do this) */
  | 'lost'
  /** no progress for stallMs with bytes outstanding */
  | 'hung';

export interface ConnectionRecord {
  kind: 'long' | 'short' | 'bulk';
  /** epoch ms */
  startAt: number;
  endAt: number;
  outcome: Outcome;
  sent: number;
  echoed: number;
  /** bytes that came back different from what was sent */
  corrupt: number;
  error?: string;
}

export interface FaultLoadResult {
  /** Every connection, in the order they ended (short ones included: the tests read the timeline). */
  connections: ConnectionRecord[];
  bulk?: { sentSha256: string; echoedSha256: string; pauses: number; pausedMs: number };
}
