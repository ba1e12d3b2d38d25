import { createDistillery, pluginJsonSchema, silentLogger, type JsonSchema, type Plugin, type PluginKind } from '@distillery/core';
import * as z from 'zod';
import { discoverPlugins, type DiscoverOptions } from './plugins-discovery.js';
import { FILE_SCHEMA } from './schema.js';

/** Where the plugins come from: a Distillery's registry (`distillery.plugins`) fits. */
export interface PluginLister {
  list(kind: PluginKind): readonly Plugin[];
}

const ref = (name: string): JsonSchema => ({ $ref: `#/definitions/${name}` });

// The nodes of the file schema written here (by plugin, or because zod cannot describe how they dispatch).
const SLOTS = new Map<unknown, string>([
  [FILE_SCHEMA.modelDef, 'model'], [FILE_SCHEMA.modelRef, 'modelRef'], [FILE_SCHEMA.lossDef, 'loss'],
  [FILE_SCHEMA.mapping, 'mapping'], [FILE_SCHEMA.callback, 'callback'], [FILE_SCHEMA.stageEntry, 'stageEntry'],
  [FILE_SCHEMA.dataset, 'dataset'], [FILE_SCHEMA.assistant, 'assistant'],
]);

/** The JSON Schema (draft-07) of what a zod node accepts, its plugin-dependent parts as references. */
function fromZod(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, {
    target: 'draft-7', io: 'input', unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      const slot = SLOTS.get(zodSchema);
      if (slot === undefined || (zodSchema as unknown) === schema) return;
      for (const key of Object.keys(jsonSchema)) delete (jsonSchema as Record<string, unknown>)[key];
      Object.assign(jsonSchema, ref(slot));
    },
  }) as JsonSchema;
  const { $schema: _, ...rest } = json;
  return rest;
}

/** `if key = name then …` for each name: each `use:`/`type:` value maps to its own schema. */
function byName(key: string, names: readonly string[], then: (name: string) => JsonSchema): JsonSchema[] {
  return names.map((name) => ({ if: { properties: { [key]: { const: name } }, required: [key] }, then: then(name) }));
}

/** `{ use, options }` entries of one plugin kind, each plugin's options checked by its own schema. */
function pluginEntry(plugins: readonly Plugin[], extra: Record<string, JsonSchema> = {}): JsonSchema {
  return {
    type: 'object', required: ['use'], additionalProperties: false,
    properties: { use: { type: 'string', enum: plugins.map((p) => p.name) }, ...extra, options: { type: 'object' } },
    allOf: byName('use', plugins.map((p) => p.name), (name) => {
      const options = pluginJsonSchema(plugins.find((p) => p.name === name)!);
      const required = Array.isArray(options.required) && options.required.length ? { required: ['options'] } : {};
      return { ...required, properties: { options } };
    }),
  };
}

/** A model plugin's options with the `type` key beside them, as a file writes a model. */
function withType(name: string, options: JsonSchema): JsonSchema {
  if (options.type !== 'object') return { allOf: [options], properties: { type: { const: name } } };
  return { ...options, properties: { type: { const: name }, ...(options.properties as object) }, required: ['type', ...((options.required as string[]) ?? [])] };
}

/**
 * The JSON Schema (draft-07) of a pipeline file for these plugins: every `use:` (losses, mappings,
 * callbacks, stage plugins) and `type:` (models, datasets) names one of them, and its options are
 * checked against that plugin's schema. The rest (stage settings, optimizer, evaluation, ...) is the
 * file schema itself. Editors use it (`# yaml-language-server: $schema=...`); `distillery schema` writes it.
 */
export function pipelineJsonSchema(plugins: PluginLister): JsonSchema {
  const models = [...plugins.list('teacher'), ...plugins.list('student')];
  const modelNames = [...new Set(models.map((p) => p.name))];
  const stagePlugins = plugins.list('stage');
  const mappings = plugins.list('mapping');
  const datasets = FILE_SCHEMA.datasets;
  const definitions: Record<string, JsonSchema> = {
    model: {
      type: 'object', required: ['type'],
      properties: { type: { type: 'string', enum: modelNames, description: 'A teacher or student plugin; its options sit beside it.' } },
      // A name may be both a teacher and a student plugin (bert): either's options will do.
      allOf: byName('type', modelNames, (name) => {
        const forms = models.filter((p) => p.name === name).map((p) => JSON.stringify(withType(name, pluginJsonSchema(p))));
        const unique = [...new Set(forms)].map((f) => JSON.parse(f) as JsonSchema);
        return unique.length === 1 ? unique[0] : { anyOf: unique };
      }),
    },
    modelRef: {
      anyOf: [
        { type: 'string', minLength: 1, description: "A model defined under 'models'." },
        { ...fromZod(FILE_SCHEMA.stageRef), description: "An earlier stage's trained student." },
        ref('model'),
      ],
    },
    loss: pluginEntry(plugins.list('loss'), { weight: fromZod(FILE_SCHEMA.lossDef.shape.weight) }),
    mapping: { anyOf: [{ type: 'string', enum: mappings.map((p) => p.name) }, pluginEntry(mappings)] },
    callback: pluginEntry(plugins.list('callback')),
    stage: fromZod(FILE_SCHEMA.stage),
    stagePlugin: {
      type: 'object', required: ['use'],
      properties: { use: { type: 'string', enum: stagePlugins.map((p) => p.name) } },
      // The teacher-assistant chain takes model and dataset names in a file: the file schema's own form.
      allOf: byName('use', stagePlugins.map((p) => p.name), (name) => (name === 'teacher-assistant' ? ref('teacherAssistant') : {
        type: 'object', additionalProperties: false,
        properties: { use: { const: name }, options: pluginJsonSchema(stagePlugins.find((p) => p.name === name)!) },
      })),
    },
    stageEntry: { if: { type: 'object', required: ['name'] }, then: ref('stage'), else: ref('stagePlugin') },
    dataset: {
      type: 'object', required: ['type'],
      properties: { type: { type: 'string', enum: Object.keys(datasets) } },
      allOf: byName('type', Object.keys(datasets), (type) => fromZod(datasets[type])),
    },
  };
  if (stagePlugins.some((p) => p.name === 'teacher-assistant')) {
    definitions.teacherAssistant = fromZod(FILE_SCHEMA.teacherAssistant);
    definitions.assistant = {
      anyOf: [{ type: 'string', enum: ['auto', 'none'] }, { type: 'array', items: fromZod(FILE_SCHEMA.assistantShape) }],
      description: "'auto' (MiniLM's rule), 'none', or assistant shapes (BERT config sizes), teacher side first.",
    };
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Distillery pipeline',
    description: 'A pipeline file of the distillery command: models, data and stages (see @distillery/cli README-config.md).',
    ...fromZod(FILE_SCHEMA.pipeline),
    definitions,
  };
}

/** The JSON Schema of pipeline files for the installed @distillery plugins, core's built-ins and `modules`. */
export async function pluginsJsonSchema(options: DiscoverOptions = {}): Promise<JsonSchema> {
  const distillery = createDistillery({ logger: silentLogger });
  for (const { plugin } of await discoverPlugins(options)) distillery.use(plugin);
  return pipelineJsonSchema(distillery.plugins);
}
