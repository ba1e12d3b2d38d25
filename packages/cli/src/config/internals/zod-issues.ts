import * as z from 'zod';
import { describeValue, unknownKeyMessage } from '../errors.js';

/** A zod issue turned into our words; the path is still a key list. */
export interface RawConfigIssue {
  path: PropertyKey[];
  message: string;
}

const KEYS_MARK = '\u0001allowed:';

const ARTICLE: Record<string, string> = {
  number: 'a number', int: 'an integer', string: 'a string', boolean: 'true or false', object: 'an object',
  array: 'a list', record: 'an object', nan: 'a number', bigint: 'an integer', null: 'null',
};

const INTEGER_FORMATS = new Set(['safeint', 'int32', 'uint32', 'int64', 'uint64']);

/** 'an integer' for z.int() bounds, else 'a number'. */
function numberKind(iss: { origin?: string; schema?: unknown }): string {
  const format = (iss.schema as { _zod?: { def?: { format?: string } } } | undefined)?._zod?.def?.format;
  return iss.origin === 'int' || (format !== undefined && INTEGER_FORMATS.has(format)) ? 'an integer' : 'a number';
}

/**
 * The error map used for every parse: "expected …, got …" in the words of the pipeline docs.
 * Unknown keys get their allowed keys attached (split into one issue per key by toIssues).
 */
export const errorMap: z.core.$ZodErrorMap = (iss) => {
  const got = describeValue(iss.input);
  switch (iss.code) {
    case 'invalid_type': {
      const expected = iss.expected === 'number' ? numberKind(iss) : ARTICLE[iss.expected] ?? iss.expected;
      if (iss.input === undefined) return `missing (expected ${expected})`;
      return `expected ${expected}, got ${got}`;
    }
    case 'too_small': {
      if (iss.origin === 'array') return `expected at least ${iss.minimum} item${Number(iss.minimum) === 1 ? '' : 's'}, got ${got}`;
      if (iss.origin === 'string') return Number(iss.minimum) === 1 ? `expected a non-empty string` : `expected at least ${iss.minimum} characters, got ${got}`;
      return `expected ${numberKind(iss)} ${iss.inclusive ? '>=' : '>'} ${iss.minimum}, got ${got}`;
    }
    case 'too_big': {
      if (iss.origin === 'array') return `expected at most ${iss.maximum} items, got ${got}`;
      if (iss.origin === 'string') return `expected at most ${iss.maximum} characters, got ${got}`;
      return `expected ${numberKind(iss)} ${iss.inclusive ? '<=' : '<'} ${iss.maximum}, got ${got}`;
    }
    case 'invalid_value':
      return iss.values.length === 1 ? `expected ${JSON.stringify(iss.values[0])}, got ${got}`
        : `expected one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}, got ${got}`;
    case 'unrecognized_keys': {
      const shape = (iss.inst as z.ZodObject | undefined)?.def?.shape;
      return `${KEYS_MARK}${shape ? Object.keys(shape).join(',') : ''}`;
    }
    case 'invalid_format':
      return `expected ${iss.format}, got ${got}`;
    default:
      return undefined;
  }
};

/** Zod's issues in our words, one per unknown key, each with its full path. */
export function toIssues(issues: readonly z.core.$ZodIssue[]): RawConfigIssue[] {
  const out: RawConfigIssue[] = [];
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys' && iss.message.startsWith(KEYS_MARK)) {
      const allowed = iss.message.slice(KEYS_MARK.length).split(',').filter(Boolean);
      for (const key of iss.keys) out.push({ path: [...iss.path, key], message: unknownKeyMessage(key, allowed) });
    } else {
      out.push({ path: [...iss.path], message: iss.message });
    }
  }
  return out;
}

/** What `dispatch` picks for a value: a schema, or the reason the value fits none (at an optional sub-path). */
export type Pick<T> = z.ZodType<T> | { fail: string; at?: PropertyKey[] };

/**
 * A schema that picks the schema to apply from the value itself (by a `type` key, by which keys are
 * present, by being a string), so an error speaks of the one shape the user meant instead of
 * listing every union branch. Issues of the picked schema keep their paths.
 */
export function dispatch<T>(pick: (value: unknown) => Pick<T>): z.ZodType<T> {
  return z.unknown().transform((value, ctx) => {
    const chosen = pick(value);
    if (!(chosen instanceof z.ZodType)) {
      const message = value === undefined && !chosen.at ? `missing (${chosen.fail.replace(/, got nothing$/, '')})` : chosen.fail;
      ctx.addIssue({ code: 'custom', message, path: chosen.at ?? [], input: value });
      return z.NEVER;
    }
    const result = chosen.safeParse(value, { error: errorMap });
    if (result.success) return result.data;
    for (const issue of toIssues(result.error.issues)) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path, input: value });
    return z.NEVER;
  }) as unknown as z.ZodType<T>;
}

/** Whether a value is a plain object (not a list, not null). */
export const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
