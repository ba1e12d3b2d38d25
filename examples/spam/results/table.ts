// The numbers of RESULTS.md, computed from a results run: one row per model, and the 5 % goal.
import type { StageTiming } from './run-experiment.js';
import type { ResultsData } from './types.js';

/** One row of the main table. */
export interface TableRow {
  /** 'teacher' or a method key. */
  method: string;
  label: string;
  regime: string;
  regimeLabel: string;
  teacher?: boolean;
  baseline?: boolean;
  model: string;
  embeddings: number;
  encoder: number;
  accuracy: number;
  f1: number;
  /** F1 of each class, by class id. */
  classF1: number[];
  /** Macro-F1 / the teacher's macro-F1. */
  keptOfTeacher: number;
  sequencesPerSecond: number;
  /** Sequences per second / the teacher's. */
  speedup: number;
  stages: StageTiming[];
  totalSeconds: number;
}

const sum = (stages: readonly StageTiming[]) => stages.reduce((s, t) => s + t.seconds, 0);

/** The teacher's row, then each method's in each regime (in run order). */
export function tableRows(data: ResultsData): TableRow[] {
  const t = data.teacher.result;
  const teacherRow: TableRow = {
    method: 'teacher', label: 'teacher (MLM pre-training + fine-tuning)', regime: 'all', regimeLabel: 'all labels', teacher: true,
    model: t.model, embeddings: t.parameters.embeddings, encoder: t.parameters.encoder, accuracy: t.test.accuracy, f1: t.test.f1,
    classF1: t.test.perClass.map((c) => c.f1), keptOfTeacher: 1, sequencesPerSecond: t.sequencesPerSecond, speedup: 1,
    stages: data.teacher.stages, totalSeconds: sum(data.teacher.stages),
  };
  return [teacherRow, ...data.methods.map((m): TableRow => ({
    method: m.method, label: m.label, regime: m.regime, regimeLabel: m.regimeLabel, ...(m.baseline ? { baseline: true } : {}),
    model: m.student.model, embeddings: m.student.parameters.embeddings, encoder: m.student.parameters.encoder,
    accuracy: m.student.test.accuracy, f1: m.student.test.f1, classF1: m.student.test.perClass.map((c) => c.f1),
    keptOfTeacher: t.test.f1 > 0 ? m.student.test.f1 / t.test.f1 : Number.NaN,
    sequencesPerSecond: m.student.sequencesPerSecond,
    speedup: t.sequencesPerSecond > 0 ? m.student.sequencesPerSecond / t.sequencesPerSecond : Number.NaN,
    stages: m.stages, totalSeconds: sum(m.stages),
  }))];
}

/** The goal of the few-label regime: within 1 point of the teacher, and clearly above the baseline. */
export const GOAL = { teacherPoints: 1, baselinePoints: 1 } as const;

/** How one method's few-label student stands against the goal. */
export interface Verdict {
  method: string;
  label: string;
  f1: number;
  /** (F1 − teacher F1) · 100. */
  vsTeacher: number;
  /** (F1 − baseline F1) · 100, when the baseline ran. */
  vsBaseline?: number;
  withinTeacher: boolean;
  /** At least GOAL.baselinePoints above the baseline; false when there is no baseline. */
  beatsBaseline: boolean;
}

/** Each distillation method's student in regime `regime` against the teacher and that regime's baseline. */
export function verdicts(data: ResultsData, regime = '5pct'): { baselineF1?: number; teacherF1: number; rows: Verdict[] } {
  const teacherF1 = data.teacher.result.test.f1;
  const baseline = data.methods.find((m) => m.baseline && m.regime === regime);
  const baselineF1 = baseline?.student.test.f1;
  const rows = data.methods.filter((m) => !m.baseline && m.regime === regime).map((m): Verdict => {
    const f1 = m.student.test.f1;
    const vsTeacher = (f1 - teacherF1) * 100;
    const vsBaseline = baselineF1 === undefined ? undefined : (f1 - baselineF1) * 100;
    return {
      method: m.method, label: m.label, f1, vsTeacher, ...(vsBaseline === undefined ? {} : { vsBaseline }),
      withinTeacher: vsTeacher >= -GOAL.teacherPoints, beatsBaseline: vsBaseline !== undefined && vsBaseline >= GOAL.baselinePoints,
    };
  });
  return { ...(baselineF1 === undefined ? {} : { baselineF1 }), teacherF1, rows };
}
