/**
 * Evolution strategies as in the Ray paper's experiment (Salimans et al. 2017, "Evolution
 * Strategies as a Scalable Alternative to Reinforcement Learning"): a shared table of Gaussian
 * noise, so a perturbation travels as an index into it; antithetic pairs θ ± σε evaluated on the
 * same episode; returns turned into centred ranks; the gradient a rank-weighted sum of noise rows;
 * an Adam step. Everything is in a fixed order (pairs by their index, sums in index order), so a
 * seeded run gives the same bytes whoever evaluated the pairs.
 */
import { Rng } from './random.ts';

/** The noise table's default size: 2^22 floats = 16 MiB, put once and pulled once by every host. */
export const NOISE_FLOATS = 1 << 22;

/** A seeded table of standard normal floats. */
export function noiseTable(seed: number, floats = NOISE_FLOATS): Float32Array {
  const rng = new Rng(seed);
  const table = new Float32Array(floats);
  for (let i = 0; i < floats; i++) table[i] = rng.gaussian();
  return table;
}

/** Writes θ + sign·σ·ε (ε the `dim` floats of `noise` from `index`) into `out`. */
export function perturb(theta: Float32Array, noise: Float32Array, index: number, sign: 1 | -1, sigma: number, out: Float32Array): Float32Array {
  const s = sign * sigma;
  for (let i = 0; i < theta.length; i++) out[i] = theta[i]! + s * noise[index + i]!;
  return out;
}

/**
 * Centred ranks of `values` in [-0.5, 0.5] (the smallest -0.5, the largest 0.5): only the order
 * of returns matters, so one lucky episode cannot dominate a step. Equal values share their mean
 * rank, so an antithetic pair with equal returns (common in CartPole) adds nothing to the gradient.
 */
export function centredRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]! || a - b);
  const ranks = new Float64Array(n);
  for (let lo = 0; lo < n;) {
    let hi = lo + 1;
    while (hi < n && values[order[hi]!] === values[order[lo]!]) hi++;
    const rank = n === 1 ? 0 : (lo + hi - 1) / 2 / (n - 1) - 0.5;
    for (let r = lo; r < hi; r++) ranks[order[r]!] = rank;
    lo = hi;
  }
  return ranks;
}

/** Adam (Kingma & Ba) on the ascent direction, with the bias-corrected step size. */
export class Adam {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;

  constructor(dim: number, readonly lr: number, readonly beta1 = 0.9, readonly beta2 = 0.999, readonly epsilon = 1e-8) {
    this.m = new Float64Array(dim);
    this.v = new Float64Array(dim);
  }

  /** Moves `theta` up `grad` in place. */
  ascend(theta: Float32Array, grad: Float64Array): void {
    this.t++;
    const a = (this.lr * Math.sqrt(1 - this.beta2 ** this.t)) / (1 - this.beta1 ** this.t);
    for (let i = 0; i < theta.length; i++) {
      const g = grad[i]!;
      this.m[i] = this.beta1 * this.m[i]! + (1 - this.beta1) * g;
      this.v[i] = this.beta2 * this.v[i]! + (1 - this.beta2) * g * g;
      theta[i] = theta[i]! + (a * this.m[i]!) / (Math.sqrt(this.v[i]!) + this.epsilon);
    }
  }
}

/** The returns of antithetic pairs, in pair order: pair i perturbed by +σε and −σε (ε at `indices[i]`). */
export interface PairReturns {
  indices: ArrayLike<number>;
  plus: ArrayLike<number>;
  minus: ArrayLike<number>;
}

/**
 * The ES gradient estimate: Σ_i (rank(R+_i) − rank(R−_i)) ε_i / (2n), ranks taken over all 2n
 * returns, minus an L2 decay on θ (as in Ray's ES example).
 */
export function esGradient(theta: Float32Array, noise: Float32Array, r: PairReturns, l2 = 0.005): Float64Array {
  const n = r.indices.length;
  const all = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    all[i] = r.plus[i]!;
    all[n + i] = r.minus[i]!;
  }
  const ranks = centredRanks(all);
  const dim = theta.length;
  const grad = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const w = ranks[i]! - ranks[n + i]!;
    const at = r.indices[i]!;
    for (let k = 0; k < dim; k++) grad[k] = grad[k]! + w * noise[at + k]!;
  }
  for (let k = 0; k < dim; k++) grad[k] = grad[k]! / (2 * n) - l2 * theta[k]!;
  return grad;
}

/** Where each pair's noise starts: uniform over the table, leaving room for `dim` floats. */
export function sampleIndices(rng: Rng, pairs: number, tableSize: number, dim: number): Int32Array {
  if (dim > tableSize) throw new RangeError(`the noise table has ${tableSize} floats, fewer than the policy's ${dim} parameters: give noiseFloats ≥ ${dim}`);
  const out = new Int32Array(pairs);
  for (let i = 0; i < pairs; i++) out[i] = rng.int(tableSize - dim + 1);
  return out;
}
