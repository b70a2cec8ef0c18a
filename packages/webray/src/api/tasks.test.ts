import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ray from '../index.js';

beforeAll(() => ray.init({ numWorkers: 2 }));
afterAll(() => ray.shutdown());

describe('tasks', () => {
  it('runs a remote function and returns its value', async () => {
    const square = ray.remote((x: number) => x * x);
    expect(await ray.get([1, 2, 3].map((i) => square.remote(i)))).toEqual([1, 4, 9]);
  });
});
