import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { CompareRow } from '../metrics-log.js';
import { formatDuration } from '../progress.js';
import type { ReportData, StageReport } from './collect.js';

/** Ten distinguishable line colours (matplotlib's tab10). */
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

let chartJsSource: string | undefined;

/** Chart.js's UMD build, read from the installed chart.js package (inlined so the report needs no network). */
export function chartJsUmd(): string {
  if (chartJsSource === undefined) {
    // chart.js exports no subpath for its UMD file; it sits beside the CommonJS entry.
    const main = createRequire(import.meta.url).resolve('chart.js');
    chartJsSource = readFileSync(path.join(path.dirname(main), 'chart.umd.min.js'), 'utf8');
  }
  return chartJsSource;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Text that can sit inside <script> without ending it or opening an HTML comment. */
const scriptSafe = (s: string) => s.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');

/** JSON that can sit inside <script type="application/json">. */
const jsonSafe = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

const fmt = (x: number | undefined, digits = 4) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));
const fmtInt = (x: number | undefined) => (x === undefined ? '—' : x.toLocaleString('en-US'));
/** 12.3 s under a minute, else m:ss or h:mm:ss. */
const formatSeconds = (s: number) => (s < 60 ? `${s.toFixed(1)} s` : formatDuration(s));

interface ChartSpec {
  type: 'line';
  data: { labels?: (string | number)[]; datasets: Record<string, unknown>[] };
  options: Record<string, unknown>;
}

function lossChart(stage: StageReport): ChartSpec {
  const datasets: Record<string, unknown>[] = Object.entries(stage.terms).map(([name, values], i) => ({
    label: name,
    data: values.map((y, k) => ({ x: stage.steps[k], y })),
    borderColor: PALETTE[i % PALETTE.length],
    backgroundColor: PALETTE[i % PALETTE.length],
    borderWidth: name === 'loss' ? 2.5 : 1.5,
    pointRadius: stage.steps.length === 1 ? 3 : 0,
    yAxisID: 'y',
  }));
  datasets.push({
    label: 'learning rate', data: stage.learningRate.map((y, k) => ({ x: stage.steps[k], y })),
    borderColor: '#555555', backgroundColor: '#555555', borderDash: [4, 4], borderWidth: 1, pointRadius: 0, yAxisID: 'lr', hidden: true,
  });
  return {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      normalized: true,
      spanGaps: false,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: {
        x: { type: 'linear', title: { display: true, text: 'step' } },
        y: { type: 'linear', title: { display: true, text: 'loss' } },
        lr: { type: 'linear', position: 'right', display: 'auto', grid: { drawOnChartArea: false }, title: { display: true, text: 'learning rate' } },
      },
      plugins: { title: { display: true, text: `stage '${stage.name}': loss terms` } },
    },
  };
}

function evalChart(stage: StageReport): ChartSpec {
  const names = [...new Set(stage.evaluations.flatMap((e) => Object.keys(e.metrics)))];
  return {
    type: 'line',
    data: {
      labels: stage.evaluations.map((e) => `epoch ${e.epoch + 1}`),
      datasets: names.map((name, i) => ({
        label: name,
        data: stage.evaluations.map((e) => (Number.isFinite(e.metrics[name]) ? e.metrics[name] : null)),
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length],
        borderWidth: 2,
        pointRadius: 4,
      })),
    },
    options: {
      scales: { x: { offset: true }, y: { title: { display: true, text: 'validation metric' } } },
      plugins: { title: { display: true, text: `stage '${stage.name}': evaluation per epoch` } },
    },
  };
}

function evalTable(stage: StageReport): string {
  const names = [...new Set(stage.evaluations.flatMap((e) => Object.keys(e.metrics)))];
  const head = `<tr><th>epoch</th><th>step</th>${names.map((n) => `<th>${escapeHtml(n)}</th>`).join('')}<th></th></tr>`;
  const rows = stage.evaluations.map((e) => `<tr${e.isBest ? ' class="best"' : ''}><td>${e.epoch + 1}</td><td>${e.step}</td>` +
    `${names.map((n) => `<td>${fmt(e.metrics[n])}</td>`).join('')}<td>${e.isBest ? 'best so far' : ''}</td></tr>`).join('');
  return `<table class="numbers">${head}${rows}</table>`;
}

function compareTable(stages: StageReport[]): string {
  const withRows = stages.filter((s) => s.compare?.rows.length);
  if (!withRows.length) return '<p>No stage finished, so no model was measured.</p>';
  const metricNames = [...new Set(withRows.flatMap((s) => s.compare!.rows.flatMap((r) => Object.keys(r.metrics ?? {}))))];
  const head = `<tr><th>stage</th><th>role</th><th>model</th><th>parameters</th>` +
    `${metricNames.map((n) => `<th>${escapeHtml(n)}</th>`).join('')}<th>examples/s</th><th>vs teacher</th><th>note</th></tr>`;
  const rows = withRows.flatMap((s) => {
    const teacher = s.compare!.rows.find((r) => r.role === 'teacher');
    return s.compare!.rows.map((r) => `<tr data-role="${r.role}"><td>${escapeHtml(s.name)}</td><td>${r.role}</td>` +
      `<td>${escapeHtml(r.model)}</td><td>${fmtInt(r.parameters)}</td>` +
      `${metricNames.map((n) => `<td>${fmt(r.metrics?.[n])}</td>`).join('')}` +
      `<td>${r.examplesPerSecond === undefined ? '—' : r.examplesPerSecond.toFixed(1)}</td>` +
      `<td>${r.role === 'student' && teacher ? relative(teacher, r) : ''}</td><td>${escapeHtml(r.note ?? '')}</td></tr>`);
  });
  const data = [...new Set(withRows.map((s) => s.compare!.data).filter(Boolean))];
  return `<table class="numbers" id="compare">${head}${rows.join('')}</table>` +
    `<p class="note">Measured when each stage ended, on its ${data.length ? escapeHtml(data.join(' / ')) : 'validation'} data; ` +
    `speed is the forward pass alone over a few batches on this run's backend.</p>`;
}

function relative(teacher: CompareRow, student: CompareRow): string {
  const parts: string[] = [];
  if (teacher.parameters && student.parameters) parts.push(`${(teacher.parameters / student.parameters).toFixed(1)}× smaller`);
  if (teacher.examplesPerSecond && student.examplesPerSecond) {
    parts.push(`${(student.examplesPerSecond / teacher.examplesPerSecond).toFixed(1)}× faster`);
  }
  return parts.join(', ');
}

/** The script that draws every chart and then records, in the DOM, that it painted pixels (after its first full render). */
const PAGE_SCRIPT = `
(function () {
  var status = document.getElementById('render-status');
  var canvases = Array.prototype.slice.call(document.querySelectorAll('canvas[data-chart]'));
  status.setAttribute('data-charts-total', String(canvases.length));
  if (typeof Chart === 'undefined') { status.setAttribute('data-error', 'Chart.js did not load'); return; }
  var specs = JSON.parse(document.getElementById('report-charts').textContent);
  var rendered = 0, painted = 0;
  function rgb(hex) { return [1, 3, 5].map(function (i) { return parseInt(hex.slice(i, i + 2), 16); }); }
  function inspect(canvas, chart) {
    if (canvas.getAttribute('data-rendered') === 'true') return;
    var px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    var colours = chart.data.datasets.map(function (d) { return rgb(d.borderColor); });
    var perSeries = colours.map(function () { return 0; });
    var any = 0;
    for (var i = 0; i < px.length; i += 4) {
      if (px[i + 3] === 0) continue;
      any++;
      for (var k = 0; k < colours.length; k++) {
        var c = colours[k];
        if (px[i + 3] > 200 && Math.abs(px[i] - c[0]) < 16 && Math.abs(px[i + 1] - c[1]) < 16 && Math.abs(px[i + 2] - c[2]) < 16) perSeries[k]++;
      }
    }
    canvas.setAttribute('data-rendered', 'true');
    canvas.setAttribute('data-painted-pixels', String(any));
    canvas.setAttribute('data-series-pixels', perSeries.join(','));
    rendered++;
    if (perSeries.some(function (n) { return n > 0; })) painted++;
    status.setAttribute('data-charts-rendered', String(rendered));
    status.setAttribute('data-charts-painted', String(painted));
    status.textContent = rendered + ' of ' + canvases.length + ' charts drawn';
  }
  canvases.forEach(function (canvas) {
    var spec = specs[canvas.getAttribute('data-chart')];
    // No animation: headless browsers (and printing) may never run the frames an animation waits for.
    spec.options.animation = false;
    spec.options.maintainAspectRatio = true;
    spec.options.aspectRatio = 2.2;
    spec.plugins = [{ id: 'renderProbe', afterRender: function (chart) { inspect(canvas, chart); } }];
    var chart = new Chart(canvas, spec);
    var toggle = document.querySelector('input[data-log-scale="' + canvas.getAttribute('data-chart') + '"]');
    if (toggle) toggle.addEventListener('change', function () {
      chart.options.scales.y.type = toggle.checked ? 'logarithmic' : 'linear';
      chart.update();
    });
  });
})();
`;

/**
 * Renders the run report as one self-contained HTML page: Chart.js inlined, no request leaves the
 * page. Per stage: the loss curve of every term (and the learning rate, hidden until clicked),
 * evaluation per epoch as a chart and a table; then the teacher-vs-student table. Each chart, once
 * its animation completes, gets `data-rendered` and counts of painted pixels, and
 * `#render-status` sums them up (the report test reads those from headless Chromium).
 */
export function renderReport(data: ReportData, { chartJs = chartJsUmd() }: { chartJs?: string } = {}): string {
  const charts: Record<string, ChartSpec> = {};
  const sections = data.stages.map((stage) => {
    const parts: string[] = [];
    const status = stage.status ?? (data.status === 'failed' ? 'failed' : 'not finished');
    parts.push(`<h2>Stage ${stage.index + 1}: ${escapeHtml(stage.name)} <span class="status">${escapeHtml(status)}</span></h2>`);
    parts.push(`<p>student ${escapeHtml(stage.student ?? '?')}${stage.teacher ? `, teacher ${escapeHtml(stage.teacher)}` : ''}; ` +
      `${stage.steps.length ? `${stage.steps[stage.steps.length - 1]} of ${stage.totalSteps ?? '?'} steps` : 'no steps logged'}` +
      `${stage.wallSeconds === undefined ? '' : `; wall time ${formatSeconds(stage.wallSeconds)}`}</p>`);
    if (stage.steps.length) {
      const id = `loss-${stage.index}`;
      charts[id] = lossChart(stage);
      parts.push(`<div class="chart"><canvas data-chart="${id}" role="img" aria-label="loss terms of stage ${escapeHtml(stage.name)}"></canvas>` +
        `<label class="note"><input type="checkbox" data-log-scale="${id}"> logarithmic loss axis (terms of very different sizes)</label></div>`);
    }
    if (stage.evaluations.length) {
      const id = `eval-${stage.index}`;
      charts[id] = evalChart(stage);
      parts.push(`<div class="chart"><canvas data-chart="${id}" role="img" aria-label="evaluation of stage ${escapeHtml(stage.name)}"></canvas></div>`);
      parts.push(evalTable(stage));
    }
    return `<section class="stage" data-stage="${escapeHtml(stage.name)}">${parts.join('\n')}</section>`;
  });
  const summary = [
    data.status ? `status: <b>${escapeHtml(data.status)}</b>` : '',
    data.backend ? `backend: ${escapeHtml(data.backend)}` : '',
    data.runs > 1 ? `${data.runs} invocations (resumed ${data.runs - 1}×)` : '',
    `generated ${escapeHtml(data.generatedAt)}`,
  ].filter(Boolean).join(' · ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 960px; padding: 0 1rem; color: #222; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.status { font-size: .7em; font-weight: normal; color: #666; }
.chart { position: relative; width: 100%; margin: 1rem 0; }
table.numbers { border-collapse: collapse; margin: .8rem 0; }
table.numbers th, table.numbers td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: right; }
table.numbers th { background: #f4f4f4; } tr.best td { font-weight: bold; }
#compare td:nth-child(-n+3), #compare td:last-child { text-align: left; }
.note, #render-status { color: #666; font-size: .9em; } .error { color: #b00; }
</style>
</head>
<body>
<h1>${escapeHtml(data.title)}</h1>
<p>${summary}</p>
${data.error ? `<p class="error">${escapeHtml(data.error)}</p>` : ''}
<p id="render-status" data-charts-rendered="0" data-charts-painted="0">charts need JavaScript</p>
${sections.join('\n')}
<h2>Teacher vs student</h2>
${compareTable(data.stages)}
<script type="application/json" id="report-charts">${jsonSafe(charts)}</script>
<script>${scriptSafe(chartJs)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
