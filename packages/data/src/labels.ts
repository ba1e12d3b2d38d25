import { promises as fs } from 'node:fs';
import { DistilleryError } from '@distillery/core';
import { writeFileAtomic } from '@distillery/core/kit';

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * The stable order of label names: numerically when every name is a number ('0', '1', '10'),
 * otherwise by UTF-16 code units (locale-independent, so every machine agrees).
 */
export function sortLabels(names: Iterable<string>): string[] {
  const unique = [...new Set(names)];
  if (unique.length > 0 && unique.every((n) => NUMERIC.test(n))) return unique.sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0));
  return unique.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Label names ↔ class ids; the id of a name is its position in `names`. Save it with the model. */
export class LabelMap {
  readonly names: readonly string[];
  private readonly ids: Map<string, number>;

  /** A map over names in the given order (ids 0..n-1); names must be unique. */
  constructor(names: readonly string[]) {
    if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string')) {
      throw new DistilleryError(`LabelMap: expected a non-empty list of label names (strings), got ${JSON.stringify(names)}`, 'config');
    }
    this.ids = new Map();
    names.forEach((name, i) => {
      if (this.ids.has(name)) throw new DistilleryError(`LabelMap: label ${JSON.stringify(name)} is listed twice`, 'config');
      this.ids.set(name, i);
    });
    this.names = Object.freeze([...names]);
  }

  /** A map over the distinct names seen, in sortLabels order. */
  static fromValues(values: Iterable<string>): LabelMap {
    const names = sortLabels(values);
    if (names.length === 0) throw new DistilleryError('LabelMap.fromValues: no labels were seen', 'config');
    return new LabelMap(names);
  }

  /** Number of classes. */
  get size(): number {
    return this.names.length;
  }

  /** The class id of a name, or undefined for an unknown label. */
  id(name: string): number | undefined {
    return this.ids.get(name);
  }

  /** The name of a class id. */
  name(id: number): string {
    const name = this.names[id];
    if (name === undefined) throw new DistilleryError(`LabelMap: no label has id ${id} (there are ${this.size})`, 'config');
    return name;
  }

  /** `{ "labels": [...] }`, the content of labels.json. */
  toJSON(): { labels: string[] } {
    return { labels: [...this.names] };
  }

  /** Writes labels.json atomically. */
  async save(file: string): Promise<void> {
    await writeFileAtomic(file, `${JSON.stringify(this.toJSON(), null, 2)}\n`);
  }

  /** Reads a labels.json written by save(). */
  static async load(file: string): Promise<LabelMap> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch (cause) {
      throw new DistilleryError(`LabelMap.load: cannot read ${file}: ${(cause as Error).message}`, 'config', { cause });
    }
    const labels = (parsed as { labels?: unknown })?.labels;
    if (!Array.isArray(labels)) throw new DistilleryError(`LabelMap.load: ${file} has no "labels" list`, 'config');
    return new LabelMap(labels as string[]);
  }
}
