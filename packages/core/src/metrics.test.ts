import { describe, expect, it } from 'vitest';
import { classificationMetrics, classificationReport, meanSquaredError } from '@distillery/core';

/** Expands a confusion matrix (rows = true class, columns = predicted class) into label/prediction lists. */
function fromConfusion(matrix: number[][]): { labels: number[]; predictions: number[] } {
  const labels: number[] = [];
  const predictions: number[] = [];
  matrix.forEach((row, t) => row.forEach((count, p) => {
    for (let i = 0; i < count; i++) { labels.push(t); predictions.push(p); }
  }));
  return { labels, predictions };
}

/**
 * MCC from its definition as a correlation of one-hot vectors (Gorodkin 2004): for N samples with
 * one-hot X (predicted) and Y (true), MCC = cov(X, Y) / sqrt(cov(X, X) · cov(Y, Y)), cov summed over
 * classes. Written independently of the closed form the implementation uses.
 */
function mccByCovariance(predictions: number[], labels: number[], classes: number): number {
  const n = labels.length;
  const mean = (v: number[], k: number) => v.filter((x) => x === k).length / n;
  let xy = 0, xx = 0, yy = 0;
  for (let k = 0; k < classes; k++) {
    const mx = mean(predictions, k), my = mean(labels, k);
    for (let i = 0; i < n; i++) {
      const x = (predictions[i] === k ? 1 : 0) - mx;
      const y = (labels[i] === k ? 1 : 0) - my;
      xy += x * y; xx += x * x; yy += y * y;
    }
  }
  return xx === 0 || yy === 0 ? 0 : xy / Math.sqrt(xx * yy);
}

describe('classificationMetrics, binary', () => {
  // labels      1 1 1 1 0 0 0 0 0 0
  // predictions 1 1 1 0 1 1 0 0 0 0
  // TP = 3, FN = 1, FP = 2, TN = 4.
  const labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
  const predictions = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0];
  const m = classificationMetrics(predictions, labels);

  it('accuracy = (TP + TN) / N = 7/10', () => {
    expect(m.accuracy).toBeCloseTo(0.7, 12);
  });

  it('macro F1 = mean of per-class F1 = (2/3 + 8/11) / 2 = 23/33', () => {
    // Class 1: 2·TP / (2·TP + FP + FN) = 6 / 9 = 2/3.
    // Class 0: TP0 = 4 (TN above), FP0 = 1 (true 1 predicted 0), FN0 = 2: 8 / 11.
    expect(m.f1).toBeCloseTo(23 / 33, 12);
  });

  it('MCC = (TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = 1/√6', () => {
    // (3·4 − 2·1) / sqrt(5 · 4 · 6 · 5) = 10 / sqrt(600) = 1/√6 ≈ 0.408248.
    const expected = (3 * 4 - 2 * 1) / Math.sqrt((3 + 2) * (3 + 1) * (4 + 2) * (4 + 1));
    expect(expected).toBeCloseTo(1 / Math.sqrt(6), 14);
    expect(m.mcc).toBeCloseTo(expected, 12);
    expect(m.mcc).toBeCloseTo(mccByCovariance(predictions, labels, 2), 12);
  });

  it('accepts typed arrays', () => {
    const t = classificationMetrics(Int32Array.from(predictions), Float32Array.from(labels));
    expect(t).toEqual(m);
  });
});

describe('classificationMetrics, 3 classes', () => {
  // Confusion (rows true, columns predicted):
  //            p0 p1 p2 | t_k
  //   true 0 [  3, 1, 0 ]   4
  //   true 1 [  1, 2, 1 ]   4
  //   true 2 [  1, 0, 2 ]   3
  //   p_k       5  3  3   N = 11, correct c = 3 + 2 + 2 = 7
  const confusion = [[3, 1, 0], [1, 2, 1], [1, 0, 2]];
  const { labels, predictions } = fromConfusion(confusion);
  const m = classificationMetrics(predictions, labels);

  it('accuracy = 7/11', () => {
    expect(m.accuracy).toBeCloseTo(7 / 11, 12);
  });

  it('macro F1 = (2/3 + 4/7 + 2/3) / 3 = 40/63', () => {
    // F1_k = 2·C_kk / (t_k + p_k): 6/9, 4/7, 4/6.
    expect(m.f1).toBeCloseTo(40 / 63, 12);
  });

  it('MCC = (c·N − Σ p_k t_k) / sqrt((N² − Σ p_k²)(N² − Σ t_k²)) = 36 / sqrt(6240)', () => {
    // c·N = 77; Σ p_k t_k = 5·4 + 3·4 + 3·3 = 41 → 36.
    // N² = 121; Σ p_k² = 25 + 9 + 9 = 43 → 78; Σ t_k² = 16 + 16 + 9 = 41 → 80. 36 / sqrt(78 · 80) ≈ 0.455733.
    expect(m.mcc).toBeCloseTo(36 / Math.sqrt(78 * 80), 12);
    expect(m.mcc).toBeCloseTo(0.455733, 6);
    expect(m.mcc).toBeCloseTo(mccByCovariance(predictions, labels, 3), 12);
  });

  it('matches the covariance definition of MCC on a scrambled 4-class case', () => {
    // A fixed pseudo-random sequence (LCG), independent of the implementation.
    let x = 12345;
    const next = () => { x = (x * 1103515245 + 12345) % 2147483648; return x; };
    const lab: number[] = [], pred: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = next() % 4;
      lab.push(t);
      pred.push(next() % 3 === 0 ? next() % 4 : t);
    }
    const r = classificationMetrics(pred, lab);
    expect(r.mcc).toBeCloseTo(mccByCovariance(pred, lab, 4), 10);
    expect(r.accuracy).toBeCloseTo(lab.filter((t, i) => t === pred[i]).length / 200, 12);
  });
});

describe('classificationMetrics, edge cases', () => {
  it('perfect predictions: all 1', () => {
    expect(classificationMetrics([0, 1, 2, 2, 1], [0, 1, 2, 2, 1])).toEqual({ accuracy: 1, f1: 1, mcc: 1 });
  });

  it('completely inverted binary predictions: MCC −1, F1 0', () => {
    const m = classificationMetrics([1, 0, 1, 0], [0, 1, 0, 1]);
    expect(m.accuracy).toBe(0);
    expect(m.f1).toBe(0);
    expect(m.mcc).toBeCloseTo(-1, 12);
  });

  it('labels and predictions all one class: MCC undefined → 0, F1 over the one present class', () => {
    const m = classificationMetrics([1, 1, 1], [1, 1, 1]);
    expect(m.accuracy).toBe(1);
    expect(m.f1).toBe(1); // class 0 occurs nowhere and is not averaged in
    expect(m.mcc).toBe(0);
  });

  it('predicting one class for mixed labels: MCC undefined → 0', () => {
    // Class 0: 2·2 / (2 + 4) = 2/3; class 1: 0 / (2 + 0) = 0. Macro 1/3.
    const m = classificationMetrics([0, 0, 0, 0], [0, 1, 0, 1]);
    expect(m.accuracy).toBe(0.5);
    expect(m.f1).toBeCloseTo(1 / 3, 12);
    expect(m.mcc).toBe(0);
  });

  it('classes absent from both labels and predictions are left out of macro F1', () => {
    // Class 1 never occurs; classes 0 and 2 are perfect.
    expect(classificationMetrics([0, 2, 2], [0, 2, 2]).f1).toBe(1);
  });

  // Regression test (this was a bug, now fixed: metrics.ts line 17: `Math.max(0, ...Array.from(labels), ...Array.from(predictions))`): spreading
  // both arrays as call arguments overflows the stack ("Maximum call stack size exceeded") once they
  // hold about 65k examples each (measured on Node here), so evaluate() crashes on larger validation
  // sets (e.g. DBpedia's 70k test set). Fix: find the largest class id with a plain loop.
  it('handles large evaluation sets (100k examples)', () => {
    const n = 100_000;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    const predictions = Int32Array.from(labels);
    predictions[0] = 1; // one error: accuracy (n − 1) / n
    const m = classificationMetrics(predictions, labels);
    expect(m.accuracy).toBeCloseTo((n - 1) / n, 12);
  });

  it('empty input gives zeros; a length mismatch fails naming both lengths', () => {
    expect(classificationMetrics([], [])).toEqual({ accuracy: 0, f1: 0, mcc: 0 });
    expect(() => classificationMetrics([0, 1], [0, 1, 1])).toThrow(/2 predictions for 3 labels/);
  });
});

describe('classificationReport: per-class scores and the confusion matrix', () => {
  // The 3-class case above: rows true class, columns predicted.
  //            p0 p1 p2 | support
  //   true 0 [  3, 1, 0 ]   4
  //   true 1 [  1, 2, 1 ]   4
  //   true 2 [  1, 0, 2 ]   3
  //   predicted 5  3  3
  const confusion = [[3, 1, 0], [1, 2, 1], [1, 0, 2]];
  const { labels, predictions } = fromConfusion(confusion);

  it('precision = TP / predicted, recall = TP / support, F1 = 2·TP / (support + predicted), by hand', () => {
    const r = classificationReport(predictions, labels);
    expect(r.confusion).toEqual(confusion);
    // Class 0: P 3/5, R 3/4, F1 6/9. Class 1: P 2/3, R 2/4, F1 4/7. Class 2: P 2/3, R 2/3, F1 4/6.
    const expected = [
      { precision: 3 / 5, recall: 3 / 4, f1: 6 / 9, support: 4, predicted: 5 },
      { precision: 2 / 3, recall: 2 / 4, f1: 4 / 7, support: 4, predicted: 3 },
      { precision: 2 / 3, recall: 2 / 3, f1: 4 / 6, support: 3, predicted: 3 },
    ];
    r.classes.forEach((c, k) => {
      expect(c.support).toBe(expected[k].support);
      expect(c.predicted).toBe(expected[k].predicted);
      for (const key of ['precision', 'recall', 'f1'] as const) expect(c[key]).toBeCloseTo(expected[k][key], 12);
      // F1 is the harmonic mean of precision and recall.
      expect(c.f1).toBeCloseTo((2 * c.precision * c.recall) / (c.precision + c.recall), 12);
    });
    expect(r.f1).toBeCloseTo((6 / 9 + 4 / 7 + 4 / 6) / 3, 12);
    expect({ accuracy: r.accuracy, f1: r.f1, mcc: r.mcc }).toEqual(classificationMetrics(predictions, labels));
    expect(r.count).toBe(11);
    expect(r.hidden).toBe(0);
  });

  it('numClasses adds classes that never occur (scores 0, left out of macro F1) and must cover every id', () => {
    const r = classificationReport(predictions, labels, 4);
    expect(r.confusion).toEqual([[3, 1, 0, 0], [1, 2, 1, 0], [1, 0, 2, 0], [0, 0, 0, 0]]);
    expect(r.classes[3]).toEqual({ precision: 0, recall: 0, f1: 0, support: 0, predicted: 0 });
    expect(r.f1).toBeCloseTo(40 / 63, 12);
    expect(() => classificationReport(predictions, labels, 2)).toThrow(/numClasses 2 does not cover class id 2/);
  });

  it('a class never predicted has precision 0; one never labelled has recall 0', () => {
    // labels 0 0 1 1, predictions 0 0 0 2: class 1 never predicted, class 2 never labelled.
    const r = classificationReport([0, 0, 0, 2], [0, 0, 1, 1]);
    expect(r.classes[0]).toEqual({ precision: 2 / 3, recall: 1, f1: 4 / 5, support: 2, predicted: 3 });
    expect(r.classes[1]).toEqual({ precision: 0, recall: 0, f1: 0, support: 2, predicted: 0 });
    expect(r.classes[2]).toEqual({ precision: 0, recall: 0, f1: 0, support: 0, predicted: 1 });
    // Macro F1 over the three classes that occur: (4/5 + 0 + 0) / 3.
    expect(r.f1).toBeCloseTo(4 / 15, 12);
  });

  it('rows whose label is -100 (hidden) are left out of every number and counted apart', () => {
    const withHidden = classificationReport([...predictions, 2, 0, 1], [...labels, -100, -100, -100]);
    const plain = classificationReport(predictions, labels);
    expect(withHidden).toEqual({ ...plain, hidden: 3 });
    expect(classificationMetrics([1, 0], [-100, -100])).toEqual({ accuracy: 0, f1: 0, mcc: 0 });
  });

  it('ids that are not class ids fail, naming the row', () => {
    expect(() => classificationReport([0, 1], [0, -1])).toThrow('classificationMetrics: label 1 is -1, not a class id (an integer >= 0, or -100 for a hidden label)');
    expect(() => classificationReport([0, 1.5], [0, 1])).toThrow('classificationMetrics: prediction 1 is 1.5, not a class id (an integer >= 0)');
  });
});

describe('meanSquaredError', () => {
  it('mean of squared differences: ((1−0)² + (2−4)² + (−1−(−1))²) / 3 = 5/3', () => {
    expect(meanSquaredError([1, 2, -1], [0, 4, -1])).toBeCloseTo(5 / 3, 12);
    expect(meanSquaredError([], [])).toBe(0);
  });

  it('leaves out targets of -100 (hidden labels): ((1−0)² + (−1−(−1))²) / 2 = 1/2', () => {
    expect(meanSquaredError([1, 2, -1], [0, -100, -1])).toBeCloseTo(1 / 2, 12);
    expect(meanSquaredError([1], [-100])).toBe(0);
  });
});
