import path from 'node:path';
import type { BackendPreference } from '@distillery/core';
import { ExitCode } from '../errors.js';
import type { CliIo } from '../io.js';
import { choice, parseCommand, positiveInt, shellLine } from '../internals/args.js';
import { Progress } from '../progress.js';
import { runPipeline } from '../run-pipeline.js';

/** The help of `distillery run`. */
export const RUN_USAGE = `usage: distillery run <pipeline.yaml> [options]

Runs every stage of a pipeline file.

options:
  --resume              continue an interrupted run from its checkpoints (completed stages are reloaded, not retrained)
  --force               start over although checkpoints of an earlier run exist (deletes them)
  --backend <name>      auto | wasm | cpu | tensorflow (default: the file's backend, else auto)
  --out <dir>           run folder (default: the file's output, else runs/<file name> beside the file)
  --progress <mode>     auto | bar | plain (default auto: a bar on a terminal, plain lines otherwise)
  --log-every <n>       plain mode: a step line every n steps (default 50)
  --no-report           do not write report.html
  --no-compare          do not measure teacher vs student when a stage ends
  -h, --help            this help`;

const BACKENDS = ['auto', 'wasm', 'cpu', 'tensorflow'] as const;

/** The run folder when --out is not given: the file's output, else runs/<name> beside the file. */
export function defaultOut(file: string, output: string | undefined): string {
  if (output) return path.resolve(path.dirname(file), output);
  return path.join(path.dirname(file), 'runs', path.basename(file).replace(/\.(ya?ml|json)$/i, ''));
}

/** `distillery run`: returns the exit code. */
export async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    resume: { type: 'boolean' }, force: { type: 'boolean' }, backend: { type: 'string' }, out: { type: 'string' },
    progress: { type: 'string' }, 'log-every': { type: 'string' }, 'no-report': { type: 'boolean' }, 'no-compare': { type: 'boolean' },
  }, RUN_USAGE, { min: 1, max: 1 });
  if (values.help) { io.stdout.write(`${RUN_USAGE}\n`); return ExitCode.ok; }
  const backendFlag = choice<BackendPreference>('backend', values.backend, BACKENDS, RUN_USAGE);
  const mode = choice('progress', values.progress, ['auto', 'bar', 'plain'] as const, RUN_USAGE) ?? 'auto';
  const every = positiveInt('log-every', values['log-every'], RUN_USAGE);
  const file = path.resolve(positionals[0]);
  const progress = new Progress({
    stream: io.stdout, errorStream: io.stderr, every, tty: mode === 'auto' ? io.stdout.isTTY === true : mode === 'bar',
  });

  // Ctrl-C once: finish the step, checkpoint, stop. Twice: leave now.
  const interrupt = new AbortController();
  let presses = 0;
  const unsubscribe = io.onInterrupt(() => {
    presses++;
    if (presses === 1) {
      progress.line('Ctrl-C: finishing the current step, then writing a checkpoint (Ctrl-C again exits at once, without one)');
      interrupt.abort();
    } else {
      progress.line('second Ctrl-C: exiting now; checkpoints written before stay on disk', true);
      io.exit(ExitCode.interrupted);
    }
  });
  try {
    const started = Date.now();
    const loaded = await io.loadPipeline(file, { logger: progress.logger });
    if (interrupt.signal.aborted) {
      progress.line('interrupted before training began: nothing to resume');
      return ExitCode.interrupted;
    }
    const out = path.resolve(values.out ?? defaultOut(file, loaded.output));
    const resumeLine = shellLine(['distillery', 'run', ...argv.filter((a) => a !== '--resume' && a !== '--force'), '--resume']);
    const result = await runPipeline({
      distillery: loaded.distillery, stages: loaded.stages, out, resume: values.resume === true, force: values.force === true,
      backend: backendFlag ?? loaded.backend ?? 'auto', signal: interrupt.signal, progress,
      report: !values['no-report'], compare: !values['no-compare'],
      title: `Distillery run: ${path.basename(file)}`, pipeline: file, command: shellLine(['distillery', 'run', ...argv]),
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (result.status === 'interrupted') {
      const at = result.interrupted;
      progress.line(at
        ? `Interrupted in stage '${at.stage}' after step ${at.step}${at.totalSteps ? `/${at.totalSteps}` : ''}; ` +
          `checkpoint written to ${path.join(at.checkpoint, 'last')}.`
        : 'Interrupted.');
      if (result.report) progress.line(`report (so far): ${result.report}`);
      progress.line(`To resume, run:\n  ${resumeLine}`);
      return ExitCode.interrupted;
    }
    progress.line(`done in ${seconds} s: ${result.stages.length} stage(s) completed`);
    for (const s of result.stages) if (s.student) progress.line(`  student of '${s.stage}': ${s.student}`);
    progress.line(`  metrics: ${result.metrics}`);
    if (result.report) progress.line(`  report:  ${result.report}`);
    return ExitCode.ok;
  } finally {
    unsubscribe();
  }
}
