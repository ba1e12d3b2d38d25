/**
 * The first repeated group of an (Oniguruma) regular expression that holds a repeated item, as in
 * `(a+)+`, `(.*)*`, `(\w+\s?)+` or `((ab)*c){2,}`: the shape behind catastrophic backtracking, where
 * a failing match tries every way of sharing the text between the two repetitions (exponential in the
 * text's length). Returns the group's text with its quantifier, or undefined when there is none.
 *
 * A structural check, chosen over running the pattern under a time bound: the cost of such a pattern
 * depends on the text, not on the pattern alone, so a trial on sample strings at load time proves
 * nothing about the data, and JavaScript cannot interrupt a running RegExp short of a worker per call.
 * It refuses some harmless patterns (`(\s*,)+`) and misses overlapping alternations (`(a|aa)+`);
 * the tokenizers in use (GPT-2, Llama 3, Qwen, BLOOM, DeepSeek splits) have none of either.
 */
export function nestedQuantifier(source: string): string | undefined {
  // One frame per open group: where it starts and whether something inside it repeats.
  const stack: { start: number; repeats: boolean }[] = [{ start: 0, repeats: false }];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    let atom: { start: number; repeats: boolean } | undefined;
    if (c === '\\') {
      atom = { start: i, repeats: false };
      i = skipEscape(source, i);
    } else if (c === '[') {
      atom = { start: i, repeats: false };
      i = skipClass(source, i);
    } else if (c === '(') {
      stack.push({ start: i, repeats: false });
      i++;
      continue;
    } else if (c === ')') {
      if (stack.length === 1) { i++; continue; } // unbalanced: left to the RegExp compiler
      atom = stack.pop()!;
      i++;
    } else if (c === '|') {
      i++;
      continue;
    } else {
      atom = { start: i, repeats: false };
      i++;
    }
    const quantifier = readQuantifier(source, i);
    const parent = stack[stack.length - 1];
    if (quantifier) {
      if (quantifier.max > 1 && atom.repeats) return source.slice(atom.start, quantifier.end);
      if (quantifier.max > 1) parent.repeats = true;
      i = quantifier.end;
    }
    if (atom.repeats) parent.repeats = true;
  }
  return undefined;
}

/** The index after an escape: `\x`, `\p{...}`, `\x{...}`, `\k<...>`. */
function skipEscape(source: string, i: number): number {
  const next = source[i + 1];
  if (next === undefined) return i + 1;
  if ('pPxokgN'.includes(next) && (source[i + 2] === '{' || source[i + 2] === '<')) {
    const close = source.indexOf(source[i + 2] === '{' ? '}' : '>', i + 3);
    return close < 0 ? source.length : close + 1;
  }
  return i + 2;
}

/** The index after a character class, nested classes (Oniguruma) and escapes included. */
function skipClass(source: string, i: number): number {
  let depth = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') { i = skipEscape(source, i); continue; }
    if (c === '[') {
      depth++;
      i++;
      if (source[i] === '^') i++;
      if (source[i] === ']') i++; // a ']' first in a class is a literal
      continue;
    }
    if (c === ']' && --depth === 0) return i + 1;
    i++;
  }
  return i;
}

/** A quantifier at `i` (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, `{,m}`, with a lazy or possessive mark). */
function readQuantifier(source: string, i: number): { max: number; end: number } | undefined {
  const c = source[i];
  let max: number;
  let end: number;
  if (c === '*' || c === '+') { max = Infinity; end = i + 1; }
  else if (c === '?') { max = 1; end = i + 1; }
  else if (c === '{') {
    const m = /^\{(\d*)(,?)(\d*)\}/.exec(source.slice(i, i + 24));
    if (!m || (m[1] === '' && m[3] === '')) return undefined; // a literal '{'
    max = m[2] === '' ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]);
    end = i + m[0].length;
  } else {
    return undefined;
  }
  if (source[end] === '?' || source[end] === '+') end++;
  return { max, end };
}
