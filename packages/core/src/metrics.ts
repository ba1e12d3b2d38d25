/** Classification metrics over predicted and true class ids. */
export interface ClassificationMetrics {
  accuracy: number;
  /** Macro-averaged F1 over the classes that occur in labels or predictions. */
  f1: number;
  /** Matthews correlation coefficient, multi-class form (Gorodkin 2004); 0 when undefined. */
  mcc: number;
}

/** Accuracy, macro F1 and MCC of predictions against labels. */
export function classificationMetrics(predictions: ArrayLike<number>, labels: ArrayLike<number>): ClassificationMetrics {
  const n = labels.length;
  if (predictions.length !== n) {
    throw new Error(`classificationMetrics: ${predictions.length} predictions for ${n} labels`);
  }
  if (n === 0) return { accuracy: 0, f1: 0, mcc: 0 };
  // A loop, not Math.max(...array): spreading 65k+ arguments overflows the call stack.
  let maxId = 0;
  for (let i = 0; i < n; i++) maxId = Math.max(maxId, labels[i], predictions[i]);
  const classes = maxId + 1;
  // confusion[t * classes + p]
  const confusion = new Float64Array(classes * classes);
  let correct = 0;
  for (let i = 0; i < n; i++) {
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
  let f1Sum = 0;
  let present = 0;
  for (let c = 0; c < classes; c++) {
    if (truePerClass[c] === 0 && predPerClass[c] === 0) continue;
    present += 1;
    const tp = confusion[c * classes + c];
    const denom = truePerClass[c] + predPerClass[c];
    f1Sum += denom === 0 ? 0 : (2 * tp) / denom;
  }
  let sumTP = 0;
  for (let c = 0; c < classes; c++) sumTP += truePerClass[c] * predPerClass[c];
  let sumP2 = 0;
  let sumT2 = 0;
  for (let c = 0; c < classes; c++) { sumP2 += predPerClass[c] ** 2; sumT2 += truePerClass[c] ** 2; }
  const cov = correct * n - sumTP;
  const denom = Math.sqrt(n * n - sumP2) * Math.sqrt(n * n - sumT2);
  return { accuracy: correct / n, f1: present === 0 ? 0 : f1Sum / present, mcc: denom === 0 ? 0 : cov / denom };
}

/** Mean squared error, for regression heads. */
export function meanSquaredError(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < targets.length; i++) sum += (predictions[i] - targets[i]) ** 2;
  return targets.length === 0 ? 0 : sum / targets.length;
}
