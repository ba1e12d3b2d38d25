/** Classification metrics over predicted and true class ids. */
export interface ClassificationMetrics {
  accuracy: number;
  /** Macro-averaged F1 over the classes that occur in labels or predictions. */
  f1: number;
  /** Matthews correlation coefficient, multi-class form (Gorodkin 2004); 0 when undefined. */
  mcc: number;
}

/** Precision, recall and F1 of one class, counted one-vs-rest. */
export interface ClassScores {
  /** True positives / predicted as this class; 0 when the class is never predicted. */
  precision: number;
  /** True positives / labelled as this class; 0 when the class never occurs in the labels. */
  recall: number;
  /** 2·TP / (support + predicted), the harmonic mean of precision and recall; 0 when both counts are 0. */
  f1: number;
  /** Rows whose true class this is. */
  support: number;
  /** Rows predicted as this class. */
  predicted: number;
}

/** The summary metrics plus what they are computed from: per-class scores and the confusion matrix. */
export interface ClassificationReport extends ClassificationMetrics {
  /** Scores of every class id 0..C−1, in id order. */
  classes: ClassScores[];
  /** confusion[t][p]: rows of true class t predicted as p (rows = true class, columns = predicted). */
  confusion: number[][];
  /** Rows counted: those whose label is not hidden. */
  count: number;
  /** Rows left out because their label is -100 (hidden). */
  hidden: number;
}

/** A hidden label (partly labelled data): the row is left out of every metric. */
const HIDDEN = -100;

const isClassId = (id: number) => Number.isInteger(id) && id >= 0;

/**
 * Accuracy, macro F1 and MCC of predictions against labels. Rows whose label is -100 (hidden) are
 * left out.
 */
export function classificationMetrics(predictions: ArrayLike<number>, labels: ArrayLike<number>): ClassificationMetrics {
  const { accuracy, f1, mcc } = classificationReport(predictions, labels);
  return { accuracy, f1, mcc };
}

/**
 * Accuracy, macro F1 and MCC with per-class precision/recall/F1 and the confusion matrix. Classes run
 * from 0 to `numClasses` − 1 (a head's width), or to the largest id seen; rows whose label is -100
 * (hidden) are left out. Macro F1 averages the classes that occur in labels or predictions.
 */
export function classificationReport(
  predictions: ArrayLike<number>, labels: ArrayLike<number>, numClasses?: number,
): ClassificationReport {
  const total = labels.length;
  if (predictions.length !== total) {
    throw new Error(`classificationMetrics: ${predictions.length} predictions for ${total} labels`);
  }
  // A loop, not Math.max(...array): spreading 65k+ arguments overflows the call stack.
  let maxId = 0;
  let n = 0;
  for (let i = 0; i < total; i++) {
    if (labels[i] === HIDDEN) continue;
    if (!isClassId(labels[i])) throw new Error(`classificationMetrics: label ${i} is ${labels[i]}, not a class id (an integer >= 0, or ${HIDDEN} for a hidden label)`);
    if (!isClassId(predictions[i])) throw new Error(`classificationMetrics: prediction ${i} is ${predictions[i]}, not a class id (an integer >= 0)`);
    maxId = Math.max(maxId, labels[i], predictions[i]);
    n += 1;
  }
  if (numClasses !== undefined && !(Number.isInteger(numClasses) && numClasses > maxId)) {
    throw new Error(`classificationMetrics: numClasses ${numClasses} does not cover class id ${maxId} met in the labels or predictions`);
  }
  const classes = numClasses ?? maxId + 1;
  // confusion[t * classes + p]
  const confusion = new Float64Array(classes * classes);
  let correct = 0;
  for (let i = 0; i < total; i++) {
    if (labels[i] === HIDDEN) continue;
    confusion[labels[i] * classes + predictions[i]] += 1;
    if (labels[i] === predictions[i]) correct += 1;
  }
  const truePerClass = new Float64Array(classes);
  const predPerClass = new Float64Array(classes);
  for (let t = 0; t < classes; t++) {
    for (let p = 0; p < classes; p++) {
      truePerClass[t] += confusion[t * classes + p];
      predPerClass[p] += confusion[t * classes + p];
    }
  }
  const scores: ClassScores[] = [];
  let f1Sum = 0;
  let present = 0;
  for (let c = 0; c < classes; c++) {
    const tp = confusion[c * classes + c];
    const support = truePerClass[c];
    const predicted = predPerClass[c];
    const f1 = support + predicted === 0 ? 0 : (2 * tp) / (support + predicted);
    scores.push({ precision: predicted === 0 ? 0 : tp / predicted, recall: support === 0 ? 0 : tp / support, f1, support, predicted });
    if (support === 0 && predicted === 0) continue;
    present += 1;
    f1Sum += f1;
  }
  const matrix = Array.from({ length: classes }, (_, t) => Array.from(confusion.subarray(t * classes, (t + 1) * classes)));
  const base = { classes: scores, confusion: matrix, count: n, hidden: total - n };
  if (n === 0) return { accuracy: 0, f1: 0, mcc: 0, ...base };
  let sumTP = 0;
  for (let c = 0; c < classes; c++) sumTP += truePerClass[c] * predPerClass[c];
  let sumP2 = 0;
  let sumT2 = 0;
  for (let c = 0; c < classes; c++) { sumP2 += predPerClass[c] ** 2; sumT2 += truePerClass[c] ** 2; }
  const cov = correct * n - sumTP;
  const denom = Math.sqrt(n * n - sumP2) * Math.sqrt(n * n - sumT2);
  return { accuracy: correct / n, f1: present === 0 ? 0 : f1Sum / present, mcc: denom === 0 ? 0 : cov / denom, ...base };
}

/** Mean squared error, for regression heads; targets of -100 (hidden labels) are left out. */
export function meanSquaredError(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < targets.length; i++) {
    if (targets[i] === HIDDEN) continue;
    sum += (predictions[i] - targets[i]) ** 2;
    n += 1;
  }
  return n === 0 ? 0 : sum / n;
}
