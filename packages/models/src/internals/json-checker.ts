import { DistilleryError } from '@distillery/core';

/** A JSON object (not null, not an array). */
export type JsonObject = Record<string, unknown>;

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value as an error shows it: JSON, cut at 60 characters; 'missing' when absent. */
export function describeJson(value: unknown): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'number') return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** `parent.key`, `parent[3]`, or `parent["odd key"]`. */
export function jsonPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return parent ? `${parent}.${key}` : key;
  const quoted = JSON.stringify(key.length > 40 ? `${key.slice(0, 37)}...` : key);
  return `${parent}[${quoted}]`;
}

/** A tokenizer.json that cannot be used: names the file, the JSON path and the value. */
export class TokenizerFileError extends DistilleryError {
  constructor(
    /** The tokenizer.json (or 'tokenizer.json object' when built from an object). */
    readonly file: string,
    /** Where in the file, e.g. `padding.pad_id` or `model.vocab["[CLS]"]` ('' for the whole file). */
    readonly jsonPath: string,
    /** The offending value (undefined when missing). */
    readonly value: unknown,
    problem: string,
  ) {
    super(`Tokenizer: ${file}: ${jsonPath || 'the file'}: ${problem}`, 'config');
    this.name = 'TokenizerFileError';
  }
}

/** Typed reads of a parsed JSON file that fail with the file, the path and the value. */
export class JsonChecker {
  constructor(readonly file: string) {}

  /** Fails with `<problem>` at `path`. */
  fail(path: string, value: unknown, problem: string): never {
    throw new TokenizerFileError(this.file, path, value, problem);
  }

  /** Fails with `expected <expected>, got <value>`. */
  expected(path: string, value: unknown, expected: string): never {
    this.fail(path, value, `expected ${expected}, got ${describeJson(value)}`);
  }

  object(value: unknown, path: string): JsonObject {
    return isObject(value) ? value : this.expected(path, value, 'an object');
  }

  array(value: unknown, path: string, maxLength: number): unknown[] {
    if (!Array.isArray(value)) this.expected(path, value, 'an array');
    if (value.length > maxLength) this.fail(path, `[${value.length} items]`, `${value.length} items, more than ${maxLength.toLocaleString('en-US')}`);
    return value;
  }

  string(value: unknown, path: string): string {
    return typeof value === 'string' ? value : this.expected(path, value, 'a string');
  }

  /** An integer in [min, max]. */
  integer(value: unknown, path: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.expected(path, value, `an integer from ${min} to ${max.toLocaleString('en-US')}`);
    }
    return value;
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
    if (typeof value !== 'string' || !allowed.includes(value as T)) this.expected(path, value, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
    return value as T;
  }

  /** Optional keys of `object` (absent or null) must have these types when present. */
  optional(object: JsonObject, path: string, types: Record<string, 'boolean' | 'string' | 'number'>): void {
    for (const [key, type] of Object.entries(types)) {
      const value = object[key];
      if (value === undefined || value === null) continue;
      if (typeof value !== type || (type === 'number' && !Number.isFinite(value))) {
        this.expected(jsonPath(path, key), value, type === 'boolean' ? 'true or false' : `a ${type}`);
      }
    }
  }
}
