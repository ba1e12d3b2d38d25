// results.html: the tables of RESULTS.md with charts, one self-contained page (Chart.js inlined, as the CLI's report does).
import { chartJsUmd, formatDuration } from '@distillery/cli';
import { tableRows, verdicts } from './table.js';
import type { ResultsData } from './types.js';

const COLOURS = { all: '#1f77b4', few: '#ff7f0e', teacher: '#d62728', baseline: '#7f7f7f', student: '#2ca02c' };

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** Text that can sit inside <script> without ending it or opening an HTML comment. */
const scriptSafe = (s: string) => s.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
/** JSON that can sit inside <script type="application/json">. */
const jsonSafe = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');
const f4 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(4));
const finite = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x : null);

/** A Chart.js configuration. */
export interface ChartSpec {
  type: 'bar' | 'line';
  data: { labels?: (string | number)[]; datasets: Record<string, unknown>[] };
  options: Record<string, unknown>;
}

const flat = (label: string, value: number, n: number, colour: string, dash: number[] = [6, 4]) => ({
  type: 'line', label, data: Array.from({ length: n }, () => value), borderColor: colour, backgroundColor: colour,
  borderDash: dash, borderWidth: 2, pointRadius: 0,
});

/** Test macro-F1 of each method, one bar per regime, with the teacher as a line. */
export function f1Chart(data: ResultsData): ChartSpec {
  const methods = [...new Map(data.methods.map((m) => [m.method, m.label])).entries()];
  const f1 = (method: string, regime: string) => finite(data.methods.find((m) => m.method === method && m.regime === regime)?.student.test.f1);
  return {
    type: 'bar',
    data: {
      labels: methods.map(([, label]) => label),
      datasets: [
        { label: 'all labels', data: methods.map(([m]) => f1(m, 'all')), backgroundColor: COLOURS.all, borderColor: COLOURS.all },
        { label: '5 % labels', data: methods.map(([m]) => f1(m, '5pct')), backgroundColor: COLOURS.few, borderColor: COLOURS.few },
        flat('teacher', data.teacher.result.test.f1, methods.length, COLOURS.teacher),
      ],
    },
    options: {
      scales: { y: { title: { display: true, text: 'test macro-F1' } } },
      plugins: { title: { display: true, text: 'Student macro-F1 by method and label regime' } },
    },
  };
}

/** Test macro-F1 of the Hinton student (5 % labels) against the temperature, with the teacher and the 5 % baseline. */
export function temperatureChart(data: ResultsData): ChartSpec {
  const points = [...data.temperature].sort((a, b) => a.temperature - b.temperature);
  const ts = points.map((p) => p.temperature);
  const baseline = data.methods.find((m) => m.baseline && m.regime === '5pct')?.student.test.f1;
  const across = (label: string, y: number, colour: string) => ({
    label, data: [{ x: Math.min(...ts), y }, { x: Math.max(...ts), y }], borderColor: colour, backgroundColor: colour,
    borderDash: [6, 4], borderWidth: 2, pointRadius: 0,
  });
  return {
    type: 'line',
    data: {
      datasets: [
        { label: 'Hinton KD student, 5 % labels', data: points.map((p) => ({ x: p.temperature, y: finite(p.student.test.f1) })),
          borderColor: COLOURS.student, backgroundColor: COLOURS.student, borderWidth: 2, pointRadius: 4 },
        across('teacher', data.teacher.result.test.f1, COLOURS.teacher),
        ...(baseline === undefined ? [] : [across('from scratch, 5 % labels', baseline, COLOURS.baseline)]),
      ],
    },
    options: {
      parsing: true,
      scales: { x: { type: 'linear', title: { display: true, text: 'temperature T' } }, y: { title: { display: true, text: 'test macro-F1' } } },
      plugins: { title: { display: true, text: 'Macro-F1 against the temperature' } },
    },
  };
}

/** Accuracy on the held-out class and overall: teacher, student as trained, student with the raised bias. */
export function heldoutChart(data: ResultsData): ChartSpec | undefined {
  const h = data.heldout;
  if (!h) return undefined;
  const k = h.classes.indexOf(h.heldout);
  const models = [['teacher', h.teacher], ['student, as trained', h.before], [`student, bias + ${h.bias}`, h.after]] as const;
  return {
    type: 'bar',
    data: {
      labels: models.map(([name]) => name),
      datasets: [
        { label: `accuracy on ${h.heldout}`, data: models.map(([, m]) => finite(m.perClass[k]?.recall)), backgroundColor: COLOURS.few, borderColor: COLOURS.few },
        { label: 'accuracy, every class', data: models.map(([, m]) => finite(m.accuracy)), backgroundColor: COLOURS.all, borderColor: COLOURS.all },
      ],
    },
    options: {
      scales: { y: { min: 0, max: 1, title: { display: true, text: 'test accuracy' } } },
      plugins: { title: { display: true, text: `Held-out class: ${h.heldout} absent from the student's transfer set` } },
    },
  };
}

function mainTable(data: ResultsData): string {
  const classes = data.meta.classes;
  const head = ['method', 'labels', 'model', 'embedding params', 'other params', 'accuracy', 'macro-F1', ...classes.map((c) => `F1 ${c}`),
    'of teacher F1', 'sequences/s', 'speed-up', 'training time per stage', 'total'];
  const rows = tableRows(data).map((r) => [r.label, r.regimeLabel, r.model, r.embeddings.toLocaleString('en-US'),
    r.encoder.toLocaleString('en-US'), f4(r.accuracy), f4(r.f1), ...classes.map((_, c) => f4(r.classF1[c])),
    `${(100 * r.keptOfTeacher).toFixed(1)} %`, Number.isFinite(r.sequencesPerSecond) ? r.sequencesPerSecond.toFixed(1) : '—',
    Number.isFinite(r.speedup) ? `${r.speedup.toFixed(1)}×` : '—',
    r.stages.map((s) => `${s.name} ${formatDuration(s.seconds)}`).join(' · '), formatDuration(r.totalSeconds)]);
  return `<table><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('') + '</table>';
}

/** The page: header facts, the main table, the goal check, and the three charts. */
export function renderHtml(data: ResultsData, { chartJs = chartJsUmd() }: { chartJs?: string } = {}): string {
  const charts: Record<string, ChartSpec> = { f1: f1Chart(data) };
  if (data.temperature.length) charts.temperature = temperatureChart(data);
  const held = heldoutChart(data);
  if (held) charts.heldout = held;
  const v = verdicts(data);
  const failing = v.rows.filter((r) => !r.beatsBaseline).map((r) => r.label);
  const m = data.meta;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Distillation on SpamAssassin: results (${escapeHtml(m.mode)} mode)</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; } th { background: #f4f4f4; }
.chart { position: relative; width: 100%; max-width: 960px; margin: 1.5rem 0; } .note { color: #666; } .bad { color: #b00; }
</style>
</head>
<body>
<h1>Distillation on SpamAssassin: results</h1>
<p>${escapeHtml(m.mode)} mode · <code>${escapeHtml(m.command)}</code> · ${escapeHtml(m.date)} · ${escapeHtml(m.machine.cpu)}, ${m.machine.cores} cores ·
${escapeHtml(m.backend)} · seed ${m.seed} · training ${escapeHtml(formatDuration(m.training.stageSeconds))} (every stage of ${m.training.runs} runs, summed). The same numbers, with notes, are in RESULTS.md.</p>
<div class="chart"><canvas data-chart="f1" role="img" aria-label="macro-F1 by method and regime"></canvas></div>
${v.baselineF1 === undefined || !v.rows.length ? '' : failing.length
    ? `<p class="bad">With 5 % of the labels, not at least 1 point above the from-scratch student: ${escapeHtml(failing.join(', '))}.</p>`
    : '<p>With 5 % of the labels, every method is at least 1 point above the from-scratch student.</p>'}
${mainTable(data)}
${charts.temperature ? '<div class="chart"><canvas data-chart="temperature" role="img" aria-label="macro-F1 against T"></canvas></div>' : ''}
${charts.heldout ? '<div class="chart"><canvas data-chart="heldout" role="img" aria-label="held-out class accuracy"></canvas></div>' : ''}
<p class="note">Each run's loss curves: runs/&lt;run&gt;/report.html in the run folder.</p>
<script type="application/json" id="results-charts">${jsonSafe(charts)}</script>
<script>${scriptSafe(chartJs)}</script>
<script>
(function () {
  if (typeof Chart === 'undefined') return;
  var specs = JSON.parse(document.getElementById('results-charts').textContent);
  document.querySelectorAll('canvas[data-chart]').forEach(function (canvas) {
    var spec = specs[canvas.getAttribute('data-chart')];
    spec.options.animation = false;
    spec.options.aspectRatio = 2.2;
    new Chart(canvas, spec);
  });
})();
</script>
</body>
</html>
`;
}
