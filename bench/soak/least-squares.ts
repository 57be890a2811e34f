// Least-squares line through (seconds, value) samples, for bench/soak's RSS and fd slopes: the slope
// per hour, its standard error and the residual spread (the GC sawtooth, connections in flight at
// sample time), so a verdict can tell a trend from noise. Pure; knows nothing of processes.

export interface Sample {
  /** seconds since the soak started */
  tSec: number;
  value: number;
}

export interface SlopeFit {
  n: number;
  /** value units per hour */
  slopePerHour: number;
  /** standard error of the slope, per hour (0 when the points lie on the line) */
  stderrPerHour: number;
  /** standard deviation of the residuals around the line */
  residualSd: number;
  /** hours between the first and the last sample fitted */
  windowHours: number;
  mean: number;
}

/** The fit, or undefined with fewer than 3 samples or all at one time. */
export function fitSlope(points: readonly Sample[]): SlopeFit | undefined {
  const n = points.length;
  if (n < 3) return undefined;
  const hours = points.map((p) => p.tSec / 3600);
  const tMean = hours.reduce((a, t) => a + t, 0) / n;
  const yMean = points.reduce((a, p) => a + p.value, 0) / n;
  let sxx = 0;
  let sxy = 0;
  points.forEach((p, i) => {
    const dt = (hours[i] ?? tMean) - tMean;
    sxx += dt * dt;
    sxy += dt * (p.value - yMean);
  });
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  let sse = 0;
  points.forEach((p, i) => {
    const r = p.value - (yMean + slope * ((hours[i] ?? tMean) - tMean));
    sse += r * r;
  });
  const residualSd = Math.sqrt(sse / (n - 2));
  return {
    n,
    slopePerHour: slope,
    stderrPerHour: residualSd / Math.sqrt(sxx),
    residualSd,
    windowHours: Math.max(...hours) - Math.min(...hours),
    mean: yMean,
  };
}

/** The samples after the warm-up: those at or after `fraction` of the run (bench/soak uses 0.25). */
export function afterWarmUp<T extends { tSec: number }>(
  points: readonly T[],
  runSec: number,
  fraction: number,
): T[] {
  return points.filter((p) => p.tSec >= runSec * fraction);
}
