import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabelMap, sortLabels } from './labels.js';

describe('LabelMap', () => {
  it('sorts numbers numerically and other names by code units, whatever order they come in', () => {
    expect(sortLabels(['10', '2', '1', '2', '0'])).toEqual(['0', '1', '2', '10']);
    expect(sortLabels(['pos', 'neg', 'Neutral', 'neg'])).toEqual(['Neutral', 'neg', 'pos']);
    expect(sortLabels(['1', 'a'])).toEqual(['1', 'a']);
    expect(LabelMap.fromValues(['spam', 'ham', 'spam']).names).toEqual(['ham', 'spam']);
    expect(LabelMap.fromValues(['ham', 'spam']).names).toEqual(LabelMap.fromValues(['spam', 'ham']).names);
  });

  it('keeps a given order and maps both ways', () => {
    const labels = new LabelMap(['entailment', 'neutral', 'contradiction']);
    expect(labels.id('neutral')).toBe(1);
    expect(labels.id('unknown')).toBeUndefined();
    expect(labels.name(2)).toBe('contradiction');
    expect(labels.size).toBe(3);
    expect(() => labels.name(3)).toThrow(/no label has id 3/);
    expect(() => new LabelMap(['a', 'a'])).toThrow(/"a" is listed twice/);
    expect(() => new LabelMap([])).toThrow(/non-empty list/);
  });

  it('saves labels.json and loads the same ids back', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'data-labels-'));
    try {
      const file = path.join(dir, 'labels.json');
      await new LabelMap(['neg', 'pos']).save(file);
      expect(JSON.parse(await fs.readFile(file, 'utf8'))).toEqual({ labels: ['neg', 'pos'] });
      const back = await LabelMap.load(file);
      expect(back.names).toEqual(['neg', 'pos']);
      await fs.writeFile(file, '{"nope": 1}');
      await expect(LabelMap.load(file)).rejects.toThrow(/has no "labels" list/);
      await expect(LabelMap.load(path.join(dir, 'missing.json'))).rejects.toThrow(/cannot read/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
