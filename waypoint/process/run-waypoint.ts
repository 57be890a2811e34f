// Runs `ambit waypoint`: one process serving one waypoint Gateway. SIGTERM drains (GOAWAY on
// HTTP/2, Connection: close on HTTP/1.1, readiness 503, requests in flight finish within the
// grace period) and then exits; a second signal exits at once.
import { createLogger, exitAfterFlush } from '../../core/telemetry/logger.js';
import { ControllerWaypointControlPlane } from '../control-plane.js';
import { DRAIN_GRACE_MS, Waypoint } from '../waypoint.js';

export interface WaypointFlags {
  name: string;
  controller: string;
  stateDir: string;
  tokenFile?: string | undefined;
  address?: string | undefined;
  logLevel: string;
  drainMs: number;
  traceSamplingPercent: number;
}

export async function runWaypoint(f: WaypointFlags): Promise<void> {
  const logger = createLogger('waypoint', { level: f.logLevel, base: { waypoint: f.name } });
  const w = new Waypoint({
    name: f.name,
    controlPlane: new ControllerWaypointControlPlane({
      controller: f.controller,
      stateDir: f.stateDir,
      tokenFile: f.tokenFile,
      name: f.name,
      logger,
    }),
    ...(f.address ? { address: f.address } : {}),
    logger,
    traceSamplingPercent: f.traceSamplingPercent,
  });
  let stopping = false;
  const handler = (): void => {
    if (stopping) {
      process.exit(0);
    }
    stopping = true;
    const hard = setTimeout(() => process.exit(0), f.drainMs + 5_000);
    hard.unref();
    void w
      .drain(f.drainMs)
      .then(() => w.stop())
      .finally(() => exitAfterFlush(logger, 0));
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  await w.start();
}

export { DRAIN_GRACE_MS };
