/** Item indices grouped by stratum, strata in a fixed order (sorted keys) so seeded draws agree everywhere. */
export function strata<T>(items: readonly T[], keyOf: (item: T, index: number) => string): [string, number[]][] {
  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const key = keyOf(item, i);
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(i);
  });
  return [...groups.keys()].sort().map((key) => [key, groups.get(key)!]);
}

/**
 * Splits `total` over groups in proportion to their sizes, summing to exactly `total` (largest
 * remainder): each gets floor(total · size / Σsize), and the rest go one each to the largest
 * fractional parts (ties: the larger group, then the earlier one).
 */
export function allocate(sizes: readonly number[], total: number): number[] {
  const sum = sizes.reduce((a, b) => a + b, 0);
  if (sum === 0) return sizes.map(() => 0);
  const quotas = sizes.map((n) => (total * n) / sum);
  const shares = quotas.map(Math.floor);
  let left = total - shares.reduce((a, b) => a + b, 0);
  const order = sizes.map((_, i) => i)
    .sort((a, b) => (quotas[b] - shares[b]) - (quotas[a] - shares[a]) || sizes[b] - sizes[a] || a - b);
  for (const i of order) {
    if (left === 0) break;
    if (shares[i] < sizes[i]) { shares[i]++; left--; }
  }
  return shares;
}
