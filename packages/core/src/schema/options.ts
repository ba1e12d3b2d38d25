import { DistilleryError } from '../errors.js';
import { ConfigError, type ConfigIssue } from './config-error.js';
import { appendPath, errorMap, toIssues, unknownKeyMessage, valueAt, type RawIssue } from './issues.js';
import type { StandardSchemaV1 } from './standard-schema.js';

/** A schema of options: any Standard Schema (zod 4, valibot, arktype, …). */
export type OptionsSchema<In = any, Out = any> = StandardSchemaV1<In, Out>;
/** What a schema accepts (defaulted keys optional). */
export type OptionsInput<S extends OptionsSchema> = StandardSchemaV1.InferInput<S>;
/** What a schema returns (defaults filled in). */
export type OptionsOutput<S extends OptionsSchema> = StandardSchemaV1.InferOutput<S>;
/** A JSON Schema document or fragment. */
export type JsonSchema = Record<string, unknown>;

/** What validate() found: the parsed value, or the issues in our words. */
export type Validated<T> = { ok: true; value: T } | { ok: false; issues: RawIssue[] };

interface ZodLike {
  _zod: unknown;
  safeParse(value: unknown, params: { error: unknown; reportInput?: boolean }): { success: true; data: unknown } | { success: false; error: { issues: never[] } };
}
const isZod = (s: unknown): s is ZodLike =>
  typeof s === 'object' && s !== null && '_zod' in s && typeof (s as ZodLike).safeParse === 'function';

/**
 * Validates a value with any Standard Schema. Zod schemas are parsed with core's error map, so
 * their messages read "expected a number > 0, got -1" and unknown keys get a did-you-mean; other
 * libraries keep their own messages. Asynchronous schemas are refused: options are checked before
 * anything runs, synchronously.
 */
export function validate<S extends OptionsSchema>(schema: S, value: unknown): Validated<OptionsOutput<S>> {
  if (isZod(schema)) {
    const result = schema.safeParse(value, { error: errorMap, reportInput: true });
    return result.success ? { ok: true, value: result.data as OptionsOutput<S> } : { ok: false, issues: toIssues(result.error.issues) };
  }
  const standard = schema?.['~standard'];
  if (!standard || typeof standard.validate !== 'function') {
    throw new DistilleryError(`not a schema (expected a Standard Schema such as a zod 4 schema), got ${typeof schema}`, 'config');
  }
  const result = standard.validate(value);
  if (result instanceof Promise) {
    throw new DistilleryError(`${standard.vendor} schema validates asynchronously; option schemas must be synchronous`, 'config');
  }
  if (!result.issues) return { ok: true, value: result.value as OptionsOutput<S> };
  return {
    ok: false,
    issues: result.issues.map((i) => ({
      path: (i.path ?? []).map((p) => (typeof p === 'object' && p !== null ? p.key : p)),
      message: i.message,
    })),
  };
}

/** How issues are placed and worded. */
export interface IssueWording {
  /** Where the validated value sits: `stage 'fit' losses[0].options`, `stages[1].losses[0].options`. */
  where: string;
  /** What an unknown top-level key is: `option for loss plugin 'hinton'`. @default 'key' */
  what?: string;
  /** Keys allowed beside the schema's own at the top level, listed first (a model's `type` in a file). @default [] */
  alsoAllowed?: readonly string[];
}

/** Validation issues as ConfigIssues: paths under `where`, the offending values, unknown top-level keys as `what`. */
export function placeIssues(issues: readonly RawIssue[], input: unknown, { where, what = 'key', alsoAllowed = [] }: IssueWording): ConfigIssue[] {
  return issues.map((issue) => {
    const top = issue.unknownKey && issue.path.length === 1;
    const message = top ? unknownKeyMessage(issue.unknownKey!.key, [...alsoAllowed, ...issue.unknownKey!.allowed], what) : issue.message;
    return { path: appendPath(where, issue.path), value: valueAt(input, issue.path), message, keys: issue.path };
  });
}

/**
 * Validates `value` with `schema` and returns the parsed value (defaults filled in), or throws a
 * ConfigError naming every bad key under `where`:
 * `parseOptions(schema, { temperature: -1 }, 'hinton options')` fails with
 * `hinton options.temperature: expected a number > 0, got -1`.
 */
export function parseOptions<S extends OptionsSchema>(schema: S, value: unknown, where: string, what?: string): OptionsOutput<S> {
  const result = validate(schema, value);
  if (result.ok) return result.value;
  throw new ConfigError(placeIssues(result.issues, value, { where, what }), { subject: where });
}

/** The JSON Schema of what a schema accepts (draft-07), through Standard JSON Schema; {} when the library has none. */
export function toJsonSchema(schema: OptionsSchema | undefined): JsonSchema {
  const converter = (schema?.['~standard'] as { jsonSchema?: StandardSchemaV1.JsonSchemaConverter } | undefined)?.jsonSchema;
  if (!converter) return {};
  // Functions, models and other code-only values cannot be written in a file: they become {} (anything).
  const json = converter.input({ target: 'draft-07', libraryOptions: { unrepresentable: 'any' } });
  const { $schema: _, ...rest } = json;
  return rest;
}
