// The soak's verdict against issue 11's aim: flat memory and file descriptors in every mesh process
// (the rise over the fitted window is within the noise around it; a fall is not a leak and passes),
// and zero errors the soak did not inject. Pure: samples and tallies in, per-process fits and
// reasons out.
import { type TallySnapshot, total } from './error-tally.js';
import { afterWarmUp, fitSlope, type SlopeFit } from './least-squares.js';

/** The aim's thresholds, in one place. */
export const AIMS = {
  /** Samples before this fraction of the run are warm-up (heaps growing, pools filling). */
  warmUpFraction: 0.25,
  /** Flat: the fitted rise over the window is within this many residual standard deviations... */
  noiseSds: 2,
  /** ...or below this floor (RSS in MB, fds in descriptors), whichever is larger. */
  rssFloorMb: 1,
  fdFloor: 2,
} as const;

export interface ProcessSample {
  tSec: number;
  rssBytes: number;
  fds: number;
}

export interface ProcessSeries {
  name: string;
  samples: ProcessSample[];
}

export interface SeriesJudgement {
  fit: SlopeFit | undefined;
  /** the fitted rise over the window, value units */
  rise: number;
  /** the larger of noiseSds residual SDs and the floor */
  noise: number;
  /** no rise beyond the noise (undefined: too few samples to tell) */
  flat: boolean | undefined;
}

export interface ProcessJudgement {
  name: string;
  rssMb: SeriesJudgement;
  fds: SeriesJudgement;
  lastRssMb: number;
  lastFds: number;
}

export interface SoakVerdict {
  processes: ProcessJudgement[];
  unexpectedErrors: number;
  injectedErrors: number;
  pass: boolean;
  reasons: string[];
}

function judgeSeries(points: { tSec: number; value: number }[], floor: number): SeriesJudgement {
  const fit = fitSlope(points);
  if (!fit) return { fit, rise: NaN, noise: NaN, flat: undefined };
  const rise = fit.slopePerHour * fit.windowHours;
  const noise = Math.max(AIMS.noiseSds * fit.residualSd, floor);
  return { fit, rise, noise, flat: rise <= noise };
}

export function judgeSoak(series: ProcessSeries[], runSec: number, tally: TallySnapshot): SoakVerdict {
  const reasons: string[] = [];
  const processes = series.map((s): ProcessJudgement => {
    const kept = afterWarmUp(s.samples, runSec, AIMS.warmUpFraction);
    const last = s.samples[s.samples.length - 1];
    const j: ProcessJudgement = {
      name: s.name,
      rssMb: judgeSeries(
        kept.map((p) => ({ tSec: p.tSec, value: p.rssBytes / 1024 / 1024 })),
        AIMS.rssFloorMb,
      ),
      fds: judgeSeries(
        kept.map((p) => ({ tSec: p.tSec, value: p.fds })),
        AIMS.fdFloor,
      ),
      lastRssMb: last ? last.rssBytes / 1024 / 1024 : NaN,
      lastFds: last ? last.fds : NaN,
    };
    for (const [what, sj, unit] of [
      ['RSS', j.rssMb, 'MB'],
      ['fds', j.fds, 'fds'],
    ] as const) {
      if (sj.flat === undefined) reasons.push(`${s.name}: too few samples after warm-up to fit ${what}`);
      else if (!sj.flat)
        reasons.push(
          `${s.name}: ${what} rose ${sj.rise.toFixed(1)} ${unit} over the window, beyond the noise (${sj.noise.toFixed(1)} ${unit})`,
        );
    }
    return j;
  });
  const unexpectedErrors = total(tally.errors);
  if (unexpectedErrors > 0)
    reasons.push(
      `${unexpectedErrors} errors not injected: ${Object.entries(tally.errors)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );
  return {
    processes,
    unexpectedErrors,
    injectedErrors: total(tally.injected),
    pass: reasons.length === 0,
    reasons,
  };
}
