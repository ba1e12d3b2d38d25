import { DistilleryError } from '../errors.js';
import type { PluginEnv } from '../plugins.js';
import { checkOptionKeys, type PluginRegistry } from '../registry.js';
import type { StageConfig } from '../stage.js';
import type { DistillationLoss, Feature, Student, Teacher } from '../types.js';

/** One loss of a stage, ready to compute. */
export interface BoundLoss {
  /** The loss's name, `name#2` for the second of the same name: the key of its terms in logs. */
  label: string;
  /** Multiplies the loss's total in the objective. */
  weight: number;
  /** The loss itself. */
  loss: DistillationLoss;
  /** Created here from a plugin (so disposed here), rather than handed in ready-made. */
  owned: boolean;
}

/** A stage-level error: `stage '<name>': <message>`. */
export const stageError = (stage: string, message: string, code: DistilleryError['code'] = 'config'): DistilleryError =>
  new DistilleryError(`stage '${stage}': ${message}`, code);

const isLoss = (x: unknown): x is DistillationLoss =>
  typeof x === 'object' && x !== null && typeof (x as DistillationLoss).compute === 'function';

/** Builds the stage's losses from plugins (checking each one's options) or takes them ready-made. */
export function buildLosses(config: StageConfig, registry: PluginRegistry, env: PluginEnv): BoundLoss[] {
  // The list (at least one) and each weight (a number >= 0) were checked with the stage settings (checkStageSettings).
  const { losses } = config;
  const seen = new Map<string, number>();
  const bound: BoundLoss[] = [];
  try {
    losses.forEach((spec, i) => {
      const where = `stage '${config.name}' losses[${i}]`;
      const weight = spec.weight ?? 1;
      let loss: DistillationLoss;
      const owned = !isLoss(spec.use);
      if (isLoss(spec.use)) {
        loss = spec.use;
      } else {
        const plugin = typeof spec.use === 'string' ? registry.get('loss', spec.use) : spec.use;
        checkOptionKeys(plugin, spec.options, where);
        loss = plugin.create(spec.options ?? {}, env);
      }
      const count = (seen.get(loss.name) ?? 0) + 1;
      seen.set(loss.name, count);
      bound.push({ label: count === 1 ? loss.name : `${loss.name}#${count}`, weight, loss, owned });
    });
  } catch (error) {
    disposeLosses(bound);
    throw error;
  }
  return bound;
}

/** Checks before step 1 that both models emit every feature a loss reads. */
export function checkFeatures(stage: string, losses: BoundLoss[], teacher: Teacher | undefined, student: Student): void {
  for (const { label, loss } of losses) {
    for (const f of loss.teacherFeatures) {
      if (!teacher) throw stageError(stage, `loss '${label}' needs the teacher's '${f}' but the stage has no teacher`, 'feature');
      if (!teacher.emits.has(f)) {
        throw stageError(stage, `loss '${label}' needs feature '${f}' from the teacher, but teacher ${teacher.name} ` +
          `does not emit it (it emits: ${[...teacher.emits].join(', ')})`, 'feature');
      }
    }
    for (const f of loss.studentFeatures) {
      if (!student.emits.has(f)) {
        throw stageError(stage, `loss '${label}' needs feature '${f}' from the student, but student ${student.name} ` +
          `does not emit it (it emits: ${[...student.emits].join(', ')})`, 'feature');
      }
    }
  }
}

/** Every feature the given sets name. */
export const unionOf = (sets: ReadonlySet<Feature>[]): ReadonlySet<Feature> => new Set(sets.flatMap((s) => [...s]));

/** Frees the losses built from plugins; ready-made ones belong to their owner. */
export function disposeLosses(losses: BoundLoss[]): void {
  for (const { loss, owned } of losses) if (owned) loss.dispose?.();
}
