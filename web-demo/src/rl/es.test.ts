import { describe, expect, it } from 'vitest';
import { Adam, centredRanks, esGradient, noiseTable, perturb, sampleIndices } from './es.ts';
import { Rng } from './random.ts';

describe('evolution strategies', () => {
  it('centred ranks run from -0.5 to 0.5 by order alone, equal returns sharing their rank', () => {
    const ranks = centredRanks([10, -3, 1000, 7]);
    [1 / 6, -0.5, 0.5, -1 / 6].forEach((r, i) => expect(ranks[i]).toBeCloseTo(r, 12));
    expect(Array.from(centredRanks([5, 5, 1]))).toEqual([0.25, 0.25, -0.5]);
  });

  it('the noise table is a seeded standard normal sample', () => {
    const t = noiseTable(3, 1 << 16);
    expect(noiseTable(3, 1 << 16)).toEqual(t);
    const mean = t.reduce((a, b) => a + b, 0) / t.length;
    const variance = t.reduce((a, b) => a + (b - mean) ** 2, 0) / t.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
  });

  it('climbs a known objective: Adam steps on the ES gradient move θ toward the maximum of −|θ − target|²', () => {
    const dim = 3;
    const target = [1, -2, 0.5];
    const f = (p: Float32Array) => -p.reduce((a, v, i) => a + (v - target[i]!) ** 2, 0);
    const noise = noiseTable(1, 1 << 12);
    const rng = new Rng(2);
    const theta = new Float32Array(dim);
    const adam = new Adam(dim, 0.05);
    const p = new Float32Array(dim);
    for (let it = 0; it < 200; it++) {
      const indices = sampleIndices(rng, 16, noise.length, dim);
      const plus = Array.from(indices, (k) => f(perturb(theta, noise, k, 1, 0.1, p)));
      const minus = Array.from(indices, (k) => f(perturb(theta, noise, k, -1, 0.1, p)));
      adam.ascend(theta, esGradient(theta, noise, { indices, plus, minus }, 0));
    }
    Array.from(theta).forEach((v, i) => expect(v).toBeCloseTo(target[i]!, 1));
  });

  it('says so when the noise table is smaller than the policy', () => {
    expect(() => sampleIndices(new Rng(1), 4, 10, 20)).toThrow(/10 floats, fewer than the policy's 20 parameters/);
  });
});
