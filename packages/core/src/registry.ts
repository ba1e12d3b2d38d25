import { injectAll, injectable } from 'tsyringe';
import { DistilleryError } from './errors.js';
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

/** Checks an options object against a plugin's declared keys, naming any unknown key. */
export function checkOptionKeys(plugin: Plugin, options: object | undefined, where: string): void {
  if (!plugin.optionKeys || options === undefined) return;
  for (const key of Object.keys(options)) {
    if (!plugin.optionKeys.includes(key)) {
      throw new DistilleryError(
        `${where}: unknown option '${key}' for ${plugin.kind} plugin '${plugin.name}'; ` +
        `known options: ${plugin.optionKeys.join(', ') || '(none)'}`, 'config');
    }
  }
}
