import path from 'node:path';
import { writeFileAtomic } from '@distillery/core/kit';
import { readMetrics } from '../metrics-log.js';
import { collectReport } from './collect.js';
import { renderReport } from './html.js';

export { collectReport } from './collect.js';
export type { ReportData, StageReport } from './collect.js';
export { chartJsUmd, renderReport } from './html.js';
export { compareModels, countParameters, measureThroughput } from './compare.js';
export type { CompareInput } from './compare.js';

/** The files a run folder holds. */
export const RUN_FILES = { metrics: 'metrics.jsonl', report: 'report.html', manifest: 'run.json' } as const;

/** Reads `<runDir>/metrics.jsonl` and writes `<runDir>/report.html` (atomically); returns its path. */
export async function writeReport(runDir: string, { title }: { title?: string } = {}): Promise<string> {
  const file = path.join(runDir, RUN_FILES.report);
  const data = collectReport(readMetrics(path.join(runDir, RUN_FILES.metrics)), { title });
  await writeFileAtomic(file, renderReport(data));
  return file;
}
