// RESULTS.md: written by the results command from a results run, never by hand.
import { formatDuration } from '@distillery/cli';
import { tableRows, verdicts, GOAL, type TableRow } from './table.js';
import type { ResultsData } from './types.js';

const f4 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(4));
const int = (x: number) => Math.round(x).toLocaleString('en-US');
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '—');
const signed = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`);
const cell = (s: string) => s.replace(/\|/g, '\\|');
const stagesText = (row: Pick<TableRow, 'stages'>) => row.stages.map((s) => `${s.name} ${formatDuration(s.seconds)}`).join(' · ');
const yesNo = (b: boolean) => (b ? 'yes' : '**no**');
const speed = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const times = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)}×` : '—');

function table(head: string[], rows: string[][], align: ('l' | 'r')[]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${align.map((a) => (a === 'r' ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

function header(data: ResultsData): string {
  const { meta } = data;
  const few = data.methods.find((m) => m.regime === '5pct' && m.labelled && !m.baseline)?.labelled;
  const all = data.methods.find((m) => m.regime === 'all' && m.labelled)?.labelled;
  const labels = [all && `all labels: ${int(all.count)}`, few && `5 %: ${int(few.count)} of ${int(few.total)} (stratified, seed 1)`]
    .filter(Boolean).join('; ');
  const hiding = 'the others hidden by @distillery/data (label −100; hard-label terms average over labelled rows); ' +
    'the from-scratch student trains on the labelled e-mails alone';
  return table(['', ''], [
    ['mode', `${meta.mode}${meta.mode === 'full' ? ' (the experiment files as written)' : ' (every file shrunk: see results/profile.ts)'}`],
    ['command', `\`${meta.command}\``],
    ['date', meta.date],
    ['machine', `${meta.machine.cpu}, ${meta.machine.cores} cores, ${meta.machine.memoryGiB} GiB, ${meta.machine.platform}, Node ${meta.machine.node}`],
    ['backend', meta.backend],
    ['seed', `${meta.seed} (every experiment file)`],
    ['data', `SpamAssassin, the fixed split of @distillery/data: train ${int(meta.data.train)}, validation ${int(meta.data.validation)}, ` +
      `test ${int(meta.data.test)} e-mails, up to ${meta.data.maxLength} tokens`],
    ['labels of the transfer set', `${labels || '—'}; ${hiding}`],
    ['training time', `${formatDuration(meta.training.stageSeconds)}: every stage of the ${meta.training.runs} runs, summed ` +
      `(wall time of each stage, with its validation and checkpoints)`],
    ['wall time of the command', `${formatDuration(meta.wallSeconds)} (CPU time ${formatDuration(meta.cpuSeconds)}, every thread)` +
      (meta.training.reused ? `; ${meta.training.reused} of the ${meta.training.runs} runs reused from earlier invocations (--resume)` : '')],
  ], ['l', 'l']);
}

function mainTable(data: ResultsData): string {
  const rows = tableRows(data);
  const classes = data.meta.classes;
  return table(
    ['method', 'labels', 'model', 'embedding params', 'other params', 'accuracy', 'macro-F1', ...classes.map((c) => `F1 ${c}`),
      'of teacher F1', 'sequences/s', 'speed-up', 'training time per stage', 'total'],
    rows.map((r) => [r.label, r.regimeLabel, r.model, int(r.embeddings), int(r.encoder), f4(r.accuracy), f4(r.f1),
      ...classes.map((_, c) => f4(r.classF1[c])), pct(r.keptOfTeacher), speed(r.sequencesPerSecond), times(r.speedup),
      stagesText(r), formatDuration(r.totalSeconds)]),
    ['l', 'l', 'l', 'r', 'r', 'r', 'r', ...classes.map(() => 'r' as const), 'r', 'r', 'r', 'l', 'r']);
}

function goal(data: ResultsData): string {
  const v = verdicts(data, '5pct');
  if (!v.rows.length) return 'No distillation method ran with 5 % of the labels.';
  const lines = [
    `Teacher macro-F1 ${f4(v.teacherF1)}; from-scratch student with the same 5 % of the labels: ${f4(v.baselineF1)}. ` +
    `Goal: every method within ${GOAL.teacherPoints} point of the teacher and at least ${GOAL.baselinePoints} point above the ` +
    `from-scratch student (points = macro-F1 × 100).`,
    '',
    table(['method', 'macro-F1', 'vs teacher (points)', 'vs from scratch (points)', `within ${GOAL.teacherPoints} point of the teacher`,
      'beats from scratch'],
    v.rows.map((r) => [r.label, f4(r.f1), signed(r.vsTeacher), signed(r.vsBaseline), yesNo(r.withinTeacher),
      v.baselineF1 === undefined ? '— (no baseline run)' : yesNo(r.beatsBaseline)]),
    ['l', 'r', 'r', 'r', 'l', 'l']),
    '',
  ];
  const notBeating = v.rows.filter((r) => !r.beatsBaseline).map((r) => r.label);
  const notWithin = v.rows.filter((r) => !r.withinTeacher).map((r) => r.label);
  if (v.baselineF1 !== undefined) {
    lines.push(notBeating.length
      ? `**Does not beat the from-scratch student by ${GOAL.baselinePoints} point: ${notBeating.join(', ')}.**`
      : `Every method beats the from-scratch student by at least ${GOAL.baselinePoints} point.`);
  }
  lines.push(notWithin.length
    ? `**Not within ${GOAL.teacherPoints} point of the teacher: ${notWithin.join(', ')}.**`
    : `Every method is within ${GOAL.teacherPoints} point of the teacher.`);
  return lines.join('\n');
}

function temperatureSection(data: ResultsData): string {
  if (!data.temperature.length) return 'Not run.';
  const classes = data.meta.classes;
  return [
    'Hinton KD (temperature.yaml) with 5 % of the labels, one run per temperature T; test split.',
    '',
    table(['T', 'accuracy', 'macro-F1', ...classes.map((c) => `F1 ${c}`), 'training time'],
      [...data.temperature].sort((a, b) => a.temperature - b.temperature).map((t) => [String(t.temperature), f4(t.student.test.accuracy), f4(t.student.test.f1),
        ...t.student.test.perClass.map((c) => f4(c.f1)), formatDuration(t.stages.reduce((s, x) => s + x.seconds, 0))]),
      ['r', 'r', 'r', ...classes.map(() => 'r' as const), 'r']),
  ].join('\n');
}

function heldoutSection(data: ResultsData): string {
  const h = data.heldout;
  if (!h) return 'Not run.';
  const k = h.classes.indexOf(h.heldout);
  const n = h.before.perClass[k]?.support ?? 0;
  const row = (name: string, m: typeof h.teacher) => [name, f4(m.perClass[k]?.recall), f4(m.accuracy), f4(m.f1)];
  const transfer = Object.entries(h.transferCounts).map(([c, x]) => `${c} ${int(x)}`).join(', ');
  return [
    `Three classes (${h.classes.join(', ')}). The student's transfer set has no ${h.heldout} e-mail (${transfer}); ` +
    `it learns from the three-class teacher's soft targets (heldout.yaml). Then the classifier bias of ${h.heldout} is raised ` +
    `by ${h.bias} — the constant that maximises validation macro-F1 (validation with every class: ` +
    `${f4(h.validation.before)} → ${f4(h.validation.after)}), where the paper tuned it on its test set.`,
    '',
    table(['model', `accuracy on ${h.heldout} (${n} test e-mails)`, 'accuracy', 'macro-F1'], [
      row('teacher (three classes)', h.teacher),
      row('student, as trained', h.before),
      row(`student, ${h.heldout} bias + ${h.bias}`, h.after),
    ], ['l', 'r', 'r', 'r']),
    '',
    `Training: ${h.stages.map((s) => `${s.name} ${formatDuration(s.seconds)}`).join(' · ')}.`,
  ].join('\n');
}

/** RESULTS.md for a results run. */
export function renderMarkdown(data: ResultsData, { html = 'results.html', readme = 'README.md' }: { html?: string; readme?: string } = {}): string {
  return `# Distillation on SpamAssassin: results

Written by \`${data.meta.command}\` (examples/spam/results/), never by hand. Charts: [${html}](${html}); each run's loss
curves: \`runs/<run>/report.html\`. What each experiment is: [README.md](${readme}). Same seed and backend give the
same numbers; timings depend on the machine and its load. Best epochs and the held-out bias are chosen on the
validation split; the test split is used only for these tables.

${header(data)}

## Students against the teacher (test split)

${mainTable(data)}

Parameters: embeddings (word, position and type embeddings with their LayerNorm; with the 30,522-token vocabulary
most of a small model) apart from the rest (encoder, pooler, classifier); a masked-LM head, unused for
classification, is not counted. Speed: forward passes to the logits over the test split, batch 32, one process,
this backend. Training time: wall time of each stage, with its validation and checkpoints; a general-distillation
stage serves both regimes and is listed in both rows.

## 5 % of the labels: the goal

${goal(data)}

## Temperature (Hinton et al. 2015)

${temperatureSection(data)}

## Held-out class (Hinton et al. 2015)

${heldoutSection(data)}
`;
}
