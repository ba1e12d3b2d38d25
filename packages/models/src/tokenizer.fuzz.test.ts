import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DistilleryError } from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import { Tokenizer, type TokenizerJson } from './tokenizer.js';
import { tinyTemplateJson } from './tokenizer-fixtures.test.util.js';

// Seeded mutations of a small valid tokenizer.json (every part the checks read), loaded from a file
// or as an object: each case ends in a tokenizer that encodes and decodes to ids of its vocabulary,
// or in a DistilleryError naming the file, within a time bound.

// `npm run fuzz:long` (scripts/fuzz-long.mjs) scales the corpus and changes the seed.
const SCALE = Number(process.env.DISTILLERY_FUZZ_SCALE ?? 1);
const SEED = Number(process.env.DISTILLERY_FUZZ_SEED ?? 20240612);
const CASES = 360 * SCALE;
const CASE_SECONDS = 2;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'distillery-tok-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Node = Record<string, unknown> | unknown[];
const TYPES = ['Sequence', 'Split', 'Replace', 'TemplateProcessing', 'BertProcessing', 'WordPiece', 'BPE', 'Unigram', 'ByteLevel',
  'Metaspace', 'FixedLength', 'Strip', 'Prepend', 'Whitespace', 'Nonsense', 'WordLevel'];
const VALUES: unknown[] = [-1, 0, 1, 2, 1.5, 3, 12, 13, 255, 256, 1e8, 1e9, 2 ** 31, -1e9, 'x', '', '[CLS]', '[PAD]', 'A', 'B', true, false,
  [], {}, [1, 2], ['[CLS]', 2], { Regex: '(a+)+$' }, { Regex: '(' }, { Regex: '\\w+' }, { String: '' }, { String: ' ' }, { Fixed: 0 }, { Fixed: 8 },
  { type: 'Sequence' }, { type: 'FixedLength', length: 0 }, { type: 'FixedLength', length: 3 }, { Sequence: { id: 'B', type_id: 0 } },
  { SpecialToken: { id: '[MASK]', type_id: 1 } }, 'x'.repeat(5000)];
/** Values only an object (not JSON text) can hold. */
const OBJECT_VALUES: unknown[] = [NaN, Infinity, -Infinity, undefined, -0];

/** Every object and array in the tree, with the key under which it is held. */
function containers(root: Node): Node[] {
  const out: Node[] = [];
  const visit = (node: unknown) => {
    if (typeof node !== 'object' || node === null) return;
    out.push(node as Node);
    for (const child of Object.values(node)) visit(child);
  };
  visit(root);
  return out;
}

const pick = <T>(rng: Rng, list: readonly T[]): T => list[rng.int(list.length)];

function mutate(rng: Rng, json: Node, asObject: boolean): void {
  const steps = 1 + rng.int(3);
  for (let k = 0; k < steps; k++) {
    const all = containers(json);
    const node = pick(rng, all) as Record<string, unknown>;
    const keys = Object.keys(node);
    const key = keys.length > 0 ? pick(rng, keys) : '0';
    const current = node[key];
    switch (rng.int(8)) {
      case 0: // delete
        if (Array.isArray(node)) node.splice(Number(key), 1); else delete node[key];
        break;
      case 1: node[key] = null; break;
      case 2: node[key] = structuredClone(pick(rng, asObject && rng.next() < 0.3 ? OBJECT_VALUES : VALUES)); break;
      case 3: // a number nudged
        node[key] = typeof current === 'number' ? pick(rng, [current + 1, current * 1000, -current, current + 0.5, current - 13]) : rng.int(20);
        break;
      case 4: node[key] = structuredClone(pick(rng, all)); break; // a subtree moved elsewhere
      case 5: node[key === 'type' || rng.next() < 0.5 ? 'type' : key] = pick(rng, TYPES); break; // type confusion
      case 6: // an array grows or reorders
        if (Array.isArray(current) && current.length > 0) {
          if (rng.next() < 0.5) current.push(structuredClone(pick(rng, current)));
          else rng.shuffle(current);
        } else node[key] = [structuredClone(current)];
        break;
      default: // an id moved onto another one's
        if (typeof current === 'number') node[key] = pick(rng, [0, 2, 3, 5, 12]);
        else node[key] = String(current);
        break;
    }
  }
}

type Outcome = 'used' | 'refused';

/** Builds and uses one mutated tokenizer; returns what happened or fails the test. */
function runCase(rng: Rng, index: number): Outcome {
  const json = tinyTemplateJson() as unknown as Node;
  const asObject = rng.next() < 0.4;
  mutate(rng, json, asObject);
  let source: string | TokenizerJson = json as TokenizerJson;
  let name = 'tokenizer.json object';
  if (!asObject) {
    let text = JSON.stringify(json);
    if (rng.next() < 0.1) text = rng.next() < 0.5 ? text.slice(0, rng.int(text.length)) : text.slice(0, rng.int(text.length)) + text.slice(rng.int(text.length));
    name = path.join(tmp, `case-${index}.json`);
    writeFileSync(name, text);
    source = name;
  }
  const describeCase = () => `case ${index}: ${asObject ? 'object' : name} ${JSON.stringify(json)?.slice(0, 400)}`;
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(source);
  } catch (error) {
    if (!(error instanceof DistilleryError)) throw new Error(`${describeCase()} threw ${(error as Error)?.stack ?? error}`);
    expect(error.message, describeCase()).toContain(name);
    return 'refused';
  }
  try {
    const ids = (rows: number[][]) => {
      for (const row of rows) for (const id of row) {
        if (!Number.isInteger(id) || id < 0 || id >= tok.vocabSize) throw new Error(`id ${id} outside [0, ${tok.vocabSize})`);
      }
    };
    const single = tok.encode('The cat  PLAYED. dog 42');
    ids(single.inputIds);
    const pair = tok.encode('the cat sat', { pair: 'dog playing' });
    ids(pair.inputIds);
    expect(pair.attentionMask[0].length).toBe(pair.inputIds[0].length);
    expect(pair.tokenTypeIds[0].length).toBe(pair.inputIds[0].length);
    for (const [maxLength, padding] of [[12, 'max_length'], [40, 'longest']] as const) {
      try {
        const batch = tok.encodeBatch([['the cat sat the dog', 'dog'], ['x', 'sat sat sat sat']], { maxLength, padding });
        ids(batch.inputIds);
        for (const row of batch.inputIds) expect(row.length).toBeLessThanOrEqual(maxLength);
      } catch (error) {
        // A template longer than maxLength is refused with a DistilleryError; anything else is a bug.
        if (!(error instanceof DistilleryError)) throw error;
      }
    }
    expect(typeof tok.decode(single.inputIds[0])).toBe('string');
    ids([[tok.padId, tok.clsId, tok.sepId, tok.maskId, tok.unkId]]);
  } catch (error) {
    throw new Error(`${describeCase()}: built, then failed in use: ${(error as Error)?.stack ?? error}`);
  }
  return 'used';
}

describe('tokenizer.json: seeded fuzz', () => {
  it(`builds ${CASES} mutated tokenizer.json files into working tokenizers or DistilleryErrors naming the file`, () => {
    const rng = Rng.derive(SEED, 'tokenizer-fuzz');
    const outcomes: Record<Outcome, number> = { used: 0, refused: 0 };
    let slowest = 0;
    for (let index = 0; index < CASES; index++) {
      const start = performance.now();
      outcomes[runCase(rng, index)]++;
      const ms = performance.now() - start;
      slowest = Math.max(slowest, ms);
      expect(ms / 1000, `case ${index}`).toBeLessThan(CASE_SECONDS);
    }
    if (SCALE > 1) console.log(`FUZZ tokenizer.json seed=${SEED} cases=${CASES} valid=${outcomes.used} refused=${outcomes.refused} slowest_ms=${slowest.toFixed(1)}`);
    // Both outcomes occur: the corpus reaches the checks and the tokenizer behind them.
    expect(outcomes.used).toBeGreaterThan(25);
    expect(outcomes.refused).toBeGreaterThan(100);
  }, 60_000 * SCALE);
});
