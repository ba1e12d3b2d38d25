import type * as z from 'zod';

// The words of every validation message, shared by code (core) and pipeline files (the CLI):
// "stages[1].losses[0].options.temperature: expected a number > 0, got -1".

const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/;

/** `stages[1].losses[0]` from ['stages', 1, 'losses', 0]; odd keys as `["a.b"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (IDENTIFIER.test(String(key))) out += out ? `.${String(key)}` : String(key);
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/**
 * A location in code followed by keys under it: `stage 'fit' losses[0]` + ['options', 'temperature'] →
 * `stage 'fit' losses[0].options.temperature`; `stage 'fit'` + ['batchSize'] → `stage 'fit' batchSize`.
 */
export function appendPath(base: string, keys: readonly PropertyKey[]): string {
  const rest = formatPath(keys);
  if (!base || !rest) return base || rest;
  if (rest.startsWith('[')) return base + rest;
  // After a name or an index the keys continue the path; after a quote they start one.
  return /[\w$\]]$/.test(base) ? `${base}.${rest}` : `${base} ${rest}`;
}

/** A value as an error shows it: JSON for scalars, a summary for lists and objects. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list of ${value.length}`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value);
    return keys.length ? `an object with keys ${keys.join(', ')}` : 'an empty object';
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value) ?? String(value);
}

/** The value at a path of plain objects and lists, or undefined. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let at: unknown = root;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

/** The closest of `known` to `key` by edit distance, when close enough to be a typo. */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) { best = candidate; bestDistance = d; }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The message for a key that is not allowed, with the allowed keys and a likely intended one. */
export function unknownKeyMessage(key: string, allowed: readonly string[], what = 'key'): string {
  const guess = closest(key, allowed);
  return `unknown ${what}${guess ? ` (did you mean '${guess}'?)` : ''}; allowed: ${allowed.join(', ') || '(none)'}`;
}

const KEYS_MARK = '\u0001allowed:';

const ARTICLE: Record<string, string> = {
  number: 'a number', int: 'an integer', string: 'a string', boolean: 'true or false', object: 'an object',
  array: 'a list', record: 'an object', nan: 'a number', bigint: 'an integer', null: 'null', function: 'a function',
};

const INTEGER_FORMATS = new Set(['safeint', 'int32', 'uint32', 'int64', 'uint64']);

/** 'an integer' for z.int() bounds, else 'a number'. */
function numberKind(iss: { origin?: string; schema?: unknown; inst?: unknown }): string {
  const formatOf = (s: unknown) => (s as { _zod?: { def?: { format?: string } } } | undefined)?._zod?.def?.format;
  const format = formatOf(iss.schema) ?? formatOf(iss.inst);
  return iss.origin === 'int' || (format !== undefined && INTEGER_FORMATS.has(format)) ? 'an integer' : 'a number';
}

/**
 * The zod error map behind every message: "expected …, got …". Unknown keys get their allowed keys
 * attached (split into one issue per key, with a did-you-mean, by toIssues). A schema's own messages
 * (`z.number({ error })`) take precedence over it.
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
    case 'invalid_union': {
      const message = unionMessage(iss.errors, iss.input, got);
      return iss.input === undefined ? message.replace(/^expected (.*), got nothing$/, 'missing (expected $1)') : message;
    }
    case 'not_multiple_of':
      return `expected a multiple of ${iss.divisor}, got ${got}`;
    default:
      return undefined;
  }
};

/**
 * A branch's issue saying the union's value (`input`, when known) is of another kind altogether: a
 * wrong type (a number that is not an integer is still a number), or none of a literal's values being
 * of the value's type ('step' against 'epoch' is the right kind, 2.5 against 'epoch' is not).
 */
const otherKind = (i: z.core.$ZodIssue, input: unknown): boolean => {
  if (i.path.length !== 0) return false;
  if (i.code === 'invalid_type') return i.expected !== 'int';
  return i.code === 'invalid_value' && input !== undefined && i.values.every((v) => typeof v !== typeof input);
};

/** The one branch of a union whose kind the value has (its issues say what is wrong inside), if exactly one. */
function fittingBranch(branches: readonly (readonly z.core.$ZodIssue[])[], input: unknown): readonly z.core.$ZodIssue[] | undefined {
  const fitting = branches.filter((b) => b.length && !b.some((i) => otherKind(i, input)));
  return fitting.length === 1 ? fitting[0] : undefined;
}

/** What one branch wanted, when the value was of another kind: `an integer`, `"epoch"`, `one of "a", "b"`. */
function wanted(i: z.core.$ZodIssue): string {
  if (i.code === 'invalid_value') {
    return i.values.length === 1 ? JSON.stringify(i.values[0]) : `one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  const { expected } = i as z.core.$ZodIssueInvalidType;
  return expected === 'number' ? numberKind(i as never) : ARTICLE[expected] ?? expected;
}

/** A union that fits no branch: the kinds it wanted (other cases are reported by toIssues from the branch). */
function unionMessage(branches: readonly (readonly z.core.$ZodIssue[])[], input: unknown, got: string): string {
  if (branches.length && branches.every((b) => b.length === 1 && otherKind(b[0], input))) {
    return `expected ${[...new Set(branches.map((b) => wanted(b[0])))].join(' or ')}, got ${got}`;
  }
  return `expected one of its ${branches.length} accepted forms, got ${got}`;
}

/** One validation issue in our words; `path` is the key list under the validated value. */
export interface RawIssue {
  path: PropertyKey[];
  message: string;
  /** Set for a key the schema does not allow: the key and the allowed ones (to re-word the message). */
  unknownKey?: { key: string; allowed: string[] };
}

/** Zod's issues (parsed with errorMap) in our words, one per unknown key, each with its full path. */
export function toIssues(issues: readonly z.core.$ZodIssue[]): RawIssue[] {
  const out: RawIssue[] = [];
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys' && iss.message.startsWith(KEYS_MARK)) {
      const allowed = iss.message.slice(KEYS_MARK.length).split(',').filter(Boolean);
      for (const key of iss.keys) {
        out.push({ path: [...iss.path, key], message: unknownKeyMessage(key, allowed), unknownKey: { key, allowed } });
      }
    } else if (iss.code === 'invalid_union' && fittingBranch(iss.errors, (iss as { input?: unknown }).input)) {
      // The value has the kind of one branch: what is wrong inside it, at its own paths (the input is there with reportInput).
      const branch = fittingBranch(iss.errors, (iss as { input?: unknown }).input)!;
      for (const inner of toIssues(branch)) out.push({ ...inner, path: [...iss.path, ...inner.path] });
    } else {
      out.push({ path: [...iss.path], message: iss.message });
    }
  }
  return out;
}
