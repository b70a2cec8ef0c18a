/** Environments by name: a new one (the serving actor's own) or the thread's cached one (rollouts). */
import { CartPoleEnv } from './cartpole-env.ts';
import type { Env, EnvName } from './env.ts';
import { createWalker } from './walker.ts';

export const ENV_NAMES: readonly EnvName[] = ['cartpole', 'walker'];

export function checkEnvName(name: unknown): EnvName {
  if (!ENV_NAMES.includes(name as EnvName)) throw new RangeError(`unknown environment ${JSON.stringify(name)}: expected one of ${ENV_NAMES.map((n) => `'${n}'`).join(', ')}`);
  return name as EnvName;
}

/** A new environment (the walker loads MuJoCo on first use in the thread). */
export async function createEnv(name: EnvName): Promise<Env> {
  return checkEnvName(name) === 'walker' ? createWalker() : new CartPoleEnv();
}

const cached = new Map<EnvName, Promise<Env>>();

/**
 * The thread's environment for `name`, made once: every rollout task a worker runs reuses it
 * (MuJoCo's model and data included), as episodes start from reset(seed).
 */
export function sharedEnv(name: EnvName): Promise<Env> {
  let env = cached.get(name);
  if (!env) {
    env = createEnv(name);
    cached.set(name, env);
    env.catch(() => cached.delete(name));
  }
  return env;
}
