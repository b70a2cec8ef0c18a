import { expect } from 'vitest';

/**
 * Lets frames, heartbeats and workers run until `cond` holds, then checks it: a bounded wait on an
 * event (at most `rounds` short timer turns), never a sleep standing in for one.
 */
export async function until(cond: () => Promise<boolean> | boolean, rounds = 3000): Promise<void> {
  for (let i = 0; i < rounds && !(await cond()); i++) await new Promise((r) => setTimeout(r, 1));
  expect(await cond()).toBe(true);
}
