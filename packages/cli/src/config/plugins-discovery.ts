import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin, PluginKind } from '@distillery/core';
import { ConfigError } from './errors.js';

/** A plugin and the module it came from. */
export interface DiscoveredPlugin {
  plugin: Plugin;
  /** The package name or module path that exported it. */
  from: string;
}

/**
 * The installed @distillery packages whose exported plugins a config can name: loaded by name from
 * this map (core's own built-ins, the mappings, 'supervised' and 'log', are always registered).
 */
export const INSTALLED_PLUGIN_PACKAGES: Readonly<Record<string, () => Promise<Record<string, unknown>>>> = {
  '@distillery/models': () => import('@distillery/models'),
  '@distillery/loss-hinton': () => import('@distillery/loss-hinton'),
  '@distillery/loss-pkd': () => import('@distillery/loss-pkd'),
  '@distillery/loss-tinybert': () => import('@distillery/loss-tinybert'),
  '@distillery/loss-minilm': () => import('@distillery/loss-minilm'),
  '@distillery/loss-distilbert-cosine': () => import('@distillery/loss-distilbert-cosine'),
  '@distillery/teacher-assistant': () => import('@distillery/teacher-assistant'),
};

/**
 * Which official package provides each plugin (`kind:name`), known without installing it: a config that
 * names one whose package is absent is told what to install. The loss packages and teacher-assistant
 * are optional peer dependencies of the CLI; @distillery/models is a dependency.
 */
export const OFFICIAL_PLUGINS: Readonly<Record<string, string>> = {
  'teacher:bert': '@distillery/models',
  'student:bert': '@distillery/models',
  'student:bilstm': '@distillery/models',
  'loss:hinton': '@distillery/loss-hinton',
  'loss:pkd': '@distillery/loss-pkd',
  'loss:tinybert': '@distillery/loss-tinybert',
  'loss:minilm': '@distillery/loss-minilm',
  'loss:distilbert-cosine': '@distillery/loss-distilbert-cosine',
  'stage:teacher-assistant': '@distillery/teacher-assistant',
};

/** For an official plugin that is not registered: `install it: npm install <package>` (undefined for other names). */
export function installHint(kind: PluginKind, name: string): string | undefined {
  const pkg = OFFICIAL_PLUGINS[`${kind}:${name}`];
  return pkg && `it comes from ${pkg}, which is not installed; install it: npm install ${pkg}`;
}

const KINDS: readonly PluginKind[] = ['loss', 'mapping', 'teacher', 'student', 'callback', 'stage'];

/** Whether a value is a plugin object: `{ kind, name, create }` with a known kind. */
export function isPlugin(x: unknown): x is Plugin {
  return typeof x === 'object' && x !== null && KINDS.includes((x as Plugin).kind)
    && typeof (x as Plugin).name === 'string' && typeof (x as Plugin).create === 'function';
}

/**
 * The plugins a module exports, by the convention for plugin modules: the default export (a plugin
 * or a list of plugins) and every named export that is a plugin object (`{ kind, name, create }`,
 * e.g. made with defineLossPlugin). Other exports are ignored; one object exported twice counts once.
 */
export function pluginsOf(exports: Record<string, unknown>): Plugin[] {
  const found: Plugin[] = [];
  const add = (x: unknown) => { if (isPlugin(x) && !found.includes(x)) found.push(x); };
  const fallback = exports.default;
  if (Array.isArray(fallback)) fallback.forEach(add); else add(fallback);
  for (const [key, value] of Object.entries(exports)) if (key !== 'default') add(value);
  return found;
}

/** Options of discoverPlugins. */
export interface DiscoverOptions {
  /** User modules as the config lists them (absolute paths, or package names). */
  modules?: readonly string[];
  /** Where package names in `modules` are resolved from (the config file's folder). @default process.cwd() */
  baseDir?: string;
  /** Installed packages to load. @default every key of INSTALLED_PLUGIN_PACKAGES */
  installed?: readonly string[];
}

/**
 * Loads the plugins of the installed @distillery packages, then of the user modules listed in the
 * config (`plugins[i]`). A module that fails to load, exports no plugin, or exports a plugin whose
 * kind and name another module already provides fails with a ConfigError at `plugins[i]`.
 */
export async function discoverPlugins({ modules = [], baseDir = process.cwd(), installed }: DiscoverOptions = {}): Promise<DiscoveredPlugin[]> {
  const found: DiscoveredPlugin[] = [];
  const add = (plugin: Plugin, from: string, where: string) => {
    const twin = found.find((d) => d.plugin.kind === plugin.kind && d.plugin.name === plugin.name);
    if (twin && twin.plugin !== plugin) {
      throw new ConfigError({ path: where, value: from,
        message: `${from} exports a ${plugin.kind} plugin named '${plugin.name}', which ${twin.from} already provides; rename one` });
    }
    if (!twin) found.push({ plugin, from });
  };
  for (const name of installed ?? Object.keys(INSTALLED_PLUGIN_PACKAGES)) {
    const load = INSTALLED_PLUGIN_PACKAGES[name];
    if (!load) throw new ConfigError({ path: '', value: name, message: `'${name}' is not a known @distillery plugin package` });
    let exports: Record<string, unknown>;
    try {
      exports = await load();
    } catch (cause) {
      // Not installed: the config simply cannot name its plugins (the unknown-name error lists what is there).
      if (isNotFound(cause, name)) continue;
      throw new ConfigError({ path: '', value: name, message: `could not load the installed package ${name}: ${(cause as Error).message}` }, { cause });
    }
    for (const plugin of pluginsOf(exports)) add(plugin, name, '');
  }
  for (const [i, spec] of modules.entries()) {
    const where = `plugins[${i}]`;
    const exports = await importUserModule(spec, baseDir, where);
    const plugins = pluginsOf(exports);
    if (plugins.length === 0) {
      throw new ConfigError({ path: where, value: spec,
        message: `${spec} exports no plugin (expected a default export or named exports of { kind, name, create } objects, ` +
          `e.g. made with defineLossPlugin; its exports: ${Object.keys(exports).join(', ') || '(none)'})` });
    }
    for (const plugin of plugins) add(plugin, spec, where);
  }
  return found;
}

async function importUserModule(spec: string, baseDir: string, where: string): Promise<Record<string, unknown>> {
  const tried: string[] = [];
  let target: string;
  if (path.isAbsolute(spec)) {
    target = pathToFileURL(spec).href;
    tried.push(spec);
  } else {
    // A package name: resolved from the config file's folder, as Node would from a script there.
    try {
      target = pathToFileURL(createRequire(path.join(baseDir, 'pipeline.config')).resolve(spec)).href;
      tried.push(`${spec} resolved from ${baseDir}`);
    } catch {
      target = spec;
      tried.push(`${spec} from ${baseDir} (not found)`, `${spec} from the distillery installation`);
    }
  }
  try {
    return await import(target) as Record<string, unknown>;
  } catch (cause) {
    throw new ConfigError({ path: where, value: spec,
      message: `could not load plugin module ${spec} (tried ${tried.join('; ')}): ${(cause as Error).message}` }, { cause });
  }
}

function isNotFound(error: unknown, name: string): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes(name);
}
