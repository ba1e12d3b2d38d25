import { injectAll, injectable } from 'tsyringe';
import { DistilleryError } from './errors.js';
import { ConfigError } from './schema/config-error.js';
import { appendPath } from './schema/issues.js';
import { placeIssues, validate } from './schema/options.js';
import type {
  CallbackPlugin, LossPlugin, MappingPlugin, Plugin, PluginKind, StagePlugin, StudentPlugin, TeacherPlugin,
} from './plugins.js';
import {
  CallbackPlugins, LossPlugins, MappingPlugins, StagePlugins, StudentPlugins, TeacherPlugins,
} from './tokens.js';

type ByKind = {
  loss: LossPlugin<any>; mapping: MappingPlugin<any>; teacher: TeacherPlugin<any>;
  student: StudentPlugin<any>; callback: CallbackPlugin<any>; stage: StagePlugin<any>;
};

/** The plugins registered in a Distillery's root container, looked up by kind and name. */
@injectable()
export class PluginRegistry {
  private readonly lists: { [K in PluginKind]: ByKind[K][] };

  constructor(
    @injectAll(LossPlugins, { isOptional: true }) losses: LossPlugin<any>[],
    @injectAll(MappingPlugins, { isOptional: true }) mappings: MappingPlugin<any>[],
    @injectAll(TeacherPlugins, { isOptional: true }) teachers: TeacherPlugin<any>[],
    @injectAll(StudentPlugins, { isOptional: true }) students: StudentPlugin<any>[],
    @injectAll(CallbackPlugins, { isOptional: true }) callbacks: CallbackPlugin<any>[],
    @injectAll(StagePlugins, { isOptional: true }) stages: StagePlugin<any>[],
  ) {
    this.lists = {
      loss: losses ?? [], mapping: mappings ?? [], teacher: teachers ?? [],
      student: students ?? [], callback: callbacks ?? [], stage: stages ?? [],
    };
  }

  /** All plugins of one kind, in registration order. */
  list<K extends PluginKind>(kind: K): readonly ByKind[K][] {
    return this.lists[kind];
  }

  /** Whether a plugin of this kind and name is registered. */
  has(kind: PluginKind, name: string): boolean {
    return this.lists[kind].some((p) => p.name === name);
  }

  /** The plugin of this kind and name; fails with the list of known names. */
  get<K extends PluginKind>(kind: K, name: string): ByKind[K] {
    const found = this.lists[kind].find((p) => p.name === name);
    if (!found) {
      const known = this.lists[kind].map((p) => `'${p.name}'`).join(', ') || '(none registered)';
      throw new DistilleryError(
        `unknown ${kind} plugin '${name}'; known ${kind} plugins: ${known}`, 'plugin');
    }
    return found;
  }
}

/**
 * Checks an options object against a plugin's schema (see `Plugin.options`), before create() runs:
 * every bad or unknown key fails with its path under `where` (the entry holding the options), e.g.
 * `stage 'fit' losses[0].options.temperature: expected a number > 0, got -1`. A plugin without a
 * schema accepts anything. The name stays from when only keys were checked.
 */
export function checkOptionKeys(plugin: Plugin, options: object | undefined, where: string): void {
  if (!plugin.options) return;
  const at = appendPath(where, ['options']);
  const result = validate(plugin.options, options ?? {});
  if (result.ok) return;
  throw new ConfigError(placeIssues(result.issues, options, { where: at, what: `option for ${plugin.kind} plugin '${plugin.name}'` }),
    { subject: at });
}
