// A float64 BERT in plain loops, written from the Hugging Face BertModel source, independent of
// the tfjs implementation: the yardstick of the correctness tests. Test-only (not packed: *.test.*).

/** Weights by Hugging Face name in tfjs layout (linear kernels [in, out]). */
export type RefParams = Map<string, { shape: number[]; data: ArrayLike<number> }>;

/** The config keys the reference reads. */
export interface RefConfig {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: string;
  layer_norm_eps: number;
}

/** Every feature, as nested arrays: hidden [L+1][B][S][H], per-layer [L][B][A][S][·]. */
export interface RefOutputs {
  hidden: number[][][][];
  attentionScores: number[][][][][];
  attentionProbs: number[][][][][];
  queries: number[][][][][];
  keys: number[][][][][];
  values: number[][][][][];
  logits?: number[][];
  mlmLogits?: number[][][];
  /** The rows of mlmLogits where the batch's mlmLabels are not −100, row-major. */
  mlmMaskedLogits?: number[][];
}

/**
 * erf to about 1e-15: its Maclaurin series below |x| = 3, the continued fraction of erfc
 * (Abramowitz & Stegun 7.1.14, evaluated bottom-up) above.
 */
export function refErf(x: number): number {
  const ax = Math.abs(x);
  let r: number;
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= -ax * ax / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
    let f = ax;
    for (let k = 120; k >= 1; k--) f = ax + (k / 2) / f;
    r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
}

function act(x: number, kind: string): number {
  switch (kind) {
    case 'gelu': return 0.5 * x * (1 + refErf(x / Math.SQRT2));
    case 'gelu_new':
    case 'gelu_pytorch_tanh': return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    case 'relu': return Math.max(0, x);
    default: throw new Error(`reference: unknown activation ${kind}`);
  }
}

/** Forward of BertModel (+ the heads whose weights `params` holds), eval mode, in float64. */
export function refBert(params: RefParams, cfg: RefConfig, batch: {
  inputIds: number[][]; attentionMask: number[][]; tokenTypeIds?: number[][]; mlmLabels?: number[][];
}): RefOutputs {
  const H = cfg.hidden_size, A = cfg.num_attention_heads, d = H / A, I = cfg.intermediate_size;
  const get = (name: string) => {
    const p = params.get(name);
    if (!p) throw new Error(`reference: no parameter ${name}`);
    return p;
  };
  /** y = x · W + b with W [in, out]. */
  const dense = (x: number[], name: string): number[] => {
    const w = get(`${name}.weight`), b = get(`${name}.bias`);
    const [inSize, outSize] = w.shape;
    const y: number[] = [];
    for (let j = 0; j < outSize; j++) {
      let s = b.data[j];
      for (let i = 0; i < inSize; i++) s += x[i] * w.data[i * outSize + j];
      y.push(s);
    }
    return y;
  };
  const norm = (x: number[], name: string): number[] => {
    const g = get(`${name}.weight`).data, b = get(`${name}.bias`).data;
    const mean = x.reduce((a, v) => a + v, 0) / x.length;
    const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length;
    return x.map((v, i) => ((v - mean) / Math.sqrt(variance + cfg.layer_norm_eps)) * g[i] + b[i]);
  };
  const row = (name: string, r: number) => {
    const t = get(name);
    return Array.from({ length: H }, (_, j) => t.data[r * H + j]);
  };

  const out: RefOutputs = { hidden: [], attentionScores: [], attentionProbs: [], queries: [], keys: [], values: [] };
  const B = batch.inputIds.length, S = batch.inputIds[0].length;
  // Embeddings
  let x: number[][][] = batch.inputIds.map((ids, bi) => ids.map((id, s) => {
    const word = row('bert.embeddings.word_embeddings.weight', id);
    const pos = row('bert.embeddings.position_embeddings.weight', s);
    const type = row('bert.embeddings.token_type_embeddings.weight', batch.tokenTypeIds?.[bi][s] ?? 0);
    return norm(word.map((v, j) => v + pos[j] + type[j]), 'bert.embeddings.LayerNorm');
  }));
  out.hidden.push(x);
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `bert.encoder.layer.${l}.`;
    const split = (t: number[][][]) =>
      Array.from({ length: B }, (_, b) => Array.from({ length: A }, (_, a) => Array.from({ length: S }, (_, s) =>
        t[b][s].slice(a * d, (a + 1) * d))));
    const q = split(x.map((seq) => seq.map((v) => dense(v, `${p}attention.self.query`))));
    const k = split(x.map((seq) => seq.map((v) => dense(v, `${p}attention.self.key`))));
    const v = split(x.map((seq) => seq.map((t) => dense(t, `${p}attention.self.value`))));
    const scores = q.map((qb, b) => qb.map((qa, a) => qa.map((qi) => Array.from({ length: S }, (_, j) => {
      let dot = 0;
      for (let e = 0; e < d; e++) dot += qi[e] * k[b][a][j][e];
      return dot / Math.sqrt(d) + (1 - batch.attentionMask[b][j]) * -10000;
    }))));
    const probs = scores.map((sb) => sb.map((sa) => sa.map((si) => {
      const m = Math.max(...si);
      const e = si.map((z) => Math.exp(z - m));
      const total = e.reduce((a2, z) => a2 + z, 0);
      return e.map((z) => z / total);
    })));
    const next: number[][][] = [];
    for (let b = 0; b < B; b++) {
      next.push([]);
      for (let s = 0; s < S; s++) {
        const context: number[] = [];
        for (let a = 0; a < A; a++) {
          for (let e = 0; e < d; e++) {
            let sum = 0;
            for (let j = 0; j < S; j++) sum += probs[b][a][s][j] * v[b][a][j][e];
            context.push(sum);
          }
        }
        const attnOut = dense(context, `${p}attention.output.dense`);
        const h1 = norm(attnOut.map((z, j) => z + x[b][s][j]), `${p}attention.output.LayerNorm`);
        const inter = dense(h1, `${p}intermediate.dense`).map((z) => act(z, cfg.hidden_act));
        if (inter.length !== I) throw new Error('reference: intermediate size');
        const o = dense(inter, `${p}output.dense`);
        next[b].push(norm(o.map((z, j) => z + h1[j]), `${p}output.LayerNorm`));
      }
    }
    x = next;
    out.hidden.push(x);
    out.attentionScores.push(scores);
    out.attentionProbs.push(probs);
    out.queries.push(q);
    out.keys.push(k);
    out.values.push(v);
  }
  if (params.has('classifier.weight')) {
    out.logits = x.map((seq) => dense(dense(seq[0], 'bert.pooler.dense').map(Math.tanh), 'classifier'));
  }
  if (params.has('cls.predictions.bias')) {
    const words = get('bert.embeddings.word_embeddings.weight');
    const bias = get('cls.predictions.bias').data;
    const V = words.shape[0];
    out.mlmLogits = x.map((seq) => seq.map((h) => {
      const t = norm(dense(h, 'cls.predictions.transform.dense').map((z) => act(z, cfg.hidden_act)),
        'cls.predictions.transform.LayerNorm');
      return Array.from({ length: V }, (_, w) => {
        let s = bias[w];
        for (let j = 0; j < H; j++) s += t[j] * words.data[w * H + j];
        return s;
      });
    }));
    if (batch.mlmLabels) {
      out.mlmMaskedLogits = out.mlmLogits.flatMap((seq, b) => seq.filter((_, i) => batch.mlmLabels![b][i] !== -100));
    }
  }
  return out;
}

/** Flattens nested arrays of numbers in row-major order. */
export function flat(x: unknown): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x as number];
}
