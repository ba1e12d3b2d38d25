import type { CompareRow, MetricsRecord } from '../metrics-log.js';

/** What the report shows of one stage. */
export interface StageReport {
  name: string;
  /** Position in the pipeline (0-based). */
  index: number;
  totalSteps?: number;
  epochs?: number;
  teacher?: string;
  student?: string;
  /** Wall time from the stage's start to its end, summed over invocations (resumes); absent before it ended once. */
  wallSeconds?: number;
  /** 'completed' or 'interrupted' as last seen; absent while it ran or when the run failed in it. */
  status?: 'completed' | 'interrupted';
  /** Step numbers of the loss points (after thinning, the last step of each bucket). */
  steps: number[];
  /** 'loss' (the weighted total) and every loss term, one value per entry of `steps`. */
  terms: Record<string, (number | null)[]>;
  learningRate: number[];
  /** Evaluation per epoch. */
  evaluations: { epoch: number; step: number; metrics: Record<string, number>; isBest: boolean }[];
  /** The teacher-vs-student table rows, when the stage ended. */
  compare?: { rows: CompareRow[]; data?: string };
}

/** Everything the HTML report is drawn from. */
export interface ReportData {
  title: string;
  generatedAt: string;
  /** How the last run ended. */
  status?: 'completed' | 'interrupted' | 'failed';
  error?: string;
  backend?: string;
  /** Number of `distillery run` invocations the log holds (1 + resumes). */
  runs: number;
  stages: StageReport[];
}

const finiteOrNull = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/**
 * Turns metrics.jsonl records into report data. A resumed run repeats nothing on purpose, but a
 * hard exit can leave steps that the resumed run trains again: later records win, per stage and
 * step (and per stage and epoch). Loss curves longer than `maxPoints` are thinned to bucket means.
 */
export function collectReport(records: MetricsRecord[], { title = 'Distillery run', maxPoints = 1000 } = {}): ReportData {
  const stages = new Map<string, {
    report: Omit<StageReport, 'steps' | 'terms' | 'learningRate' | 'evaluations'>;
    steps: Map<number, { terms: Record<string, number | null>; lr: number }>;
    epochs: Map<number, StageReport['evaluations'][number]>;
  }>();
  const stage = (name: string, index = stages.size) => {
    let s = stages.get(name);
    if (!s) {
      s = { report: { name, index }, steps: new Map(), epochs: new Map() };
      stages.set(name, s);
    }
    return s;
  };
  const data: ReportData = { title, generatedAt: new Date().toISOString(), runs: 0, stages: [] };
  for (const r of records) {
    switch (r.event) {
      case 'run':
        data.runs++;
        if (r.backend) data.backend = r.backend;
        data.status = undefined;
        data.error = undefined;
        break;
      case 'stage-start': {
        const s = stage(r.stage, r.index);
        Object.assign(s.report, {
          index: r.index, totalSteps: r.totalSteps, epochs: r.epochs, teacher: r.teacher, student: r.student, status: undefined,
        });
        break;
      }
      case 'step':
        stage(r.stage).steps.set(r.step, {
          terms: { loss: finiteOrNull(r.loss), ...Object.fromEntries(Object.entries(r.terms ?? {}).map(([k, v]) => [k, finiteOrNull(v)])) },
          lr: r.learningRate,
        });
        break;
      case 'epoch':
        stage(r.stage).epochs.set(r.epoch, { epoch: r.epoch, step: r.step, metrics: r.metrics, isBest: r.isBest });
        break;
      case 'stage-end': {
        const { report } = stage(r.stage);
        report.status = r.status;
        if (typeof r.wallSeconds === 'number') report.wallSeconds = (report.wallSeconds ?? 0) + r.wallSeconds;
        break;
      }
      case 'compare':
        stage(r.stage).report.compare = { rows: r.rows, data: r.data };
        break;
      case 'run-end':
        data.status = r.status;
        data.error = r.error;
        break;
      default:
        break;
    }
  }
  data.stages = [...stages.values()]
    .sort((a, b) => a.report.index - b.report.index)
    .map((s) => ({ ...s.report, ...thin(s.steps, maxPoints), evaluations: [...s.epochs.values()].sort((a, b) => a.epoch - b.epoch) }));
  return data;
}

function thin(points: Map<number, { terms: Record<string, number | null>; lr: number }>, maxPoints: number) {
  const sorted = [...points.entries()].sort((a, b) => a[0] - b[0]);
  const names = [...new Set(sorted.flatMap(([, p]) => Object.keys(p.terms)))];
  const size = Math.max(1, Math.ceil(sorted.length / maxPoints));
  const steps: number[] = [];
  const learningRate: number[] = [];
  const terms: Record<string, (number | null)[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < sorted.length; i += size) {
    const bucket = sorted.slice(i, i + size);
    steps.push(bucket[bucket.length - 1][0]);
    learningRate.push(bucket[bucket.length - 1][1].lr);
    for (const n of names) {
      const values = bucket.map(([, p]) => p.terms[n]).filter((v): v is number => typeof v === 'number');
      // A bucket holding a non-finite value shows a gap, not an average that hides it.
      terms[n].push(values.length === bucket.length ? values.reduce((a, b) => a + b, 0) / values.length : null);
    }
  }
  return { steps, terms, learningRate };
}
