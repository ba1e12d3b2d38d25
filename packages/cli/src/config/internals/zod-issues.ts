import { errorMap, toIssues } from '@distillery/core';
import * as z from 'zod';

// The error map and issue wording are core's (code and files say the same things).
export { errorMap, toIssues } from '@distillery/core';
export type { RawIssue as RawConfigIssue } from '@distillery/core';

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
    const result = chosen.safeParse(value, { error: errorMap, reportInput: true });
    if (result.success) return result.data;
    for (const issue of toIssues(result.error.issues)) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path, input: value });
    return z.NEVER;
  }) as unknown as z.ZodType<T>;
}

/** Whether a value is a plain object (not a list, not null). */
export const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
