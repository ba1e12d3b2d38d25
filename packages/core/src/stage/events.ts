import type { Callback } from '../callbacks.js';
import { checkOptionKeys, type PluginRegistry } from '../registry.js';
import type { StageConfig } from '../stage.js';

/** The stage's callbacks, built from plugins or taken as given, called in order for each event. */
export class StageEvents {
  private readonly callbacks: Callback[];

  constructor(config: StageConfig, registry: PluginRegistry) {
    this.callbacks = (config.callbacks ?? []).map((cb, i) => {
      if ('use' in cb && typeof cb.use === 'string') {
        const plugin = registry.get('callback', cb.use);
        checkOptionKeys(plugin, cb.options, `stage '${config.name}' callbacks[${i}]`);
        return plugin.create(cb.options ?? {});
      }
      return cb as Callback;
    });
  }

  /** Calls `hook` on every callback, one after the other (each may be async). */
  async emit<K extends keyof Callback>(hook: K, ...args: Parameters<NonNullable<Callback[K]>>): Promise<void> {
    for (const cb of this.callbacks) await (cb[hook] as ((...a: unknown[]) => unknown) | undefined)?.(...args);
  }
}
