/**
 * The RL section: evolution strategies trained across every worker of every host (rollouts are
 * module tasks), a live reward plot, live counters, and the current policy served by an actor
 * that the page asks for a frame on every animation frame.
 */
import * as ray from 'webray';
import type { ActorHandle } from 'webray';
import { evaluate, train, type IterationStats } from '../rl/trainer.ts';
import type { EnvName } from '../rl/env.ts';
import type { PolicyServer } from '../rl/serving.ts';
import { policyServer } from '../rl/serving-actor.ts';
import { $, figure, fmt, showError } from './dom.ts';
import { startFrameLoop, stopFrameLoop } from './frame-loop.ts';
import { longestTask, resetLongTasks, watchLongTasks } from './longtasks.ts';
import { RewardChart } from './reward-chart.ts';
import { drawScene } from './scene.ts';

/** What each button trains: CartPole is the quick first run; the walker is the headline. */
export const RUNS: Record<EnvName, { iterations: number; pairs: number; goal: number; evalEpisodes: number; stepsPerFrame: number; note: string }> = {
  cartpole: {
    iterations: 30, pairs: 16, goal: 475, evalEpisodes: 100, stepsPerFrame: 1,
    note: 'The classic cart-pole (500 steps max). A linear policy solves it in milliseconds on one thread, so here spreading it over workers shows mostly overhead: it is the quick first run.',
  },
  walker: {
    iterations: 30, pairs: 50, goal: 1000, evalEpisodes: 10, stepsPerFrame: 4,
    note: 'A planar walker (9 joints, 6 motors) simulated by MuJoCo (WebAssembly, loaded lazily) in every worker of every tab and Node host: an iteration costs seconds of CPU, so it goes as fast as the cluster is wide. Reward per step, fixed before training: forward velocity, +1 while upright, minus a control cost; the episode ends when it falls or after 1,000 steps, so a lunge forfeits the rest. Goal, stated before training: a mean of 1,000 over 10 evaluation episodes (upright for the whole episode); it shuffles forward after that.',
  },
};

const servingClass = policyServer();

let server: ActorHandle<PolicyServer> | undefined;
let controller: AbortController | undefined;

/** Asks `actor` for a frame on every animation frame and draws it (the loop before it stops). */
function serve(env: EnvName, actor: ActorHandle<PolicyServer>): void {
  const canvas = $<HTMLCanvasElement>('scene');
  startFrameLoop({
    ask: () => ray.get(actor.frame.remote(RUNS[env].stepsPerFrame)),
    draw: (f) => drawScene(canvas, f),
    onError: (e) => showError('serving', e),
  });
}

function showCounters(s: IterationStats): void {
  const per = (n: number) => n / Math.max(s.seconds, 1e-3);
  figure('iteration', s.iteration);
  figure('reward-mean', s.meanReward, fmt(s.meanReward, 1));
  figure('reward-max', s.maxReward, fmt(s.maxReward, 1));
  figure('episodes-per-s', per(s.episodes));
  figure('steps-per-s', per(s.steps));
  figure('tasks-per-s', per(s.tasks));
  figure('rl-hosts', s.hosts);
  const longest = longestTask();
  figure('longest-task', longest, `${fmt(longest, 0)} ms`);
}

/** Clears the run's figures (the workers figure is the dashboard's: the cluster's, live). */
function clearCounters(): void {
  for (const b of $('rl-counters').querySelectorAll<HTMLElement>('b:not(#rl-workers)')) {
    b.textContent = '—';
    delete b.dataset.value;
  }
}

/** How a run went: totals over its iterations (the bench reads them). */
export interface RunSummary {
  env: EnvName;
  iterations: number;
  seconds: number;
  episodes: number;
  steps: number;
  tasks: number;
  /** The last iteration's mean and max reward. */
  meanReward: number;
  maxReward: number;
  /** Distinct hosts that ran an iteration's rollouts (the most in one iteration). */
  hosts: number;
  /** The trained policy's mean reward over the evaluation episodes (NaN if stopped). */
  evalMean: number;
  /** The iterations' own time (without loading, the noise table and the evaluation). */
  trainSeconds: number;
  longestTaskMs: number;
  state: 'done' | 'stopped';
}

/**
 * Trains `env` from `seed` (`iterations`, `pairs`: the page's defaults unless given); resolves
 * when done or stopped. The page's data-* attributes say how it went.
 */
export async function runTraining(env: EnvName, seed: number, size: { iterations?: number; pairs?: number } = {}): Promise<RunSummary> {
  const run = { ...RUNS[env], ...size };
  const section = $('rl');
  section.dataset.state = 'running';
  section.dataset.env = env;
  $('rl-note').textContent = run.note;
  $('rl-status').textContent = env === 'walker' ? 'loading MuJoCo in every worker…' : 'training…';
  watchLongTasks();
  resetLongTasks();
  const chartBox = $('rl-chart');
  chartBox.replaceChildren();
  const chart = new RewardChart(chartBox, env === 'cartpole' ? run.goal : undefined);
  clearCounters();
  // Every iteration's rewards, for tests and scripts (the chart draws them).
  const means: number[] = [];
  const maxes: number[] = [];
  section.dataset.meanRewards = section.dataset.maxRewards = '';
  delete section.dataset.evalMean;
  stopFrameLoop();
  if (server) await ray.kill(server);
  server = servingClass.remote(env, seed);
  serve(env, server);
  controller = new AbortController();
  const t0 = performance.now();
  const total = { episodes: 0, steps: 0, tasks: 0, meanReward: NaN, maxReward: NaN, hosts: 0, evalMean: NaN, trainSeconds: 0 };
  const summary = (state: RunSummary['state']): RunSummary => ({
    env, iterations: chart.points, seconds: (performance.now() - t0) / 1000, ...total, longestTaskMs: longestTask(), state,
  });
  try {
    const policy = await train({ env, seed, iterations: run.iterations, pairs: run.pairs, signal: controller.signal }, (s, policy) => {
      total.trainSeconds += s.seconds;
      total.episodes += s.episodes;
      total.steps += s.steps;
      total.tasks += s.tasks;
      total.meanReward = s.meanReward;
      total.maxReward = s.maxReward;
      total.hosts = Math.max(total.hosts, s.hosts);
      chart.add(s.iteration, s.meanReward, s.maxReward);
      means.push(s.meanReward);
      maxes.push(s.maxReward);
      section.dataset.meanRewards = means.join(',');
      section.dataset.maxRewards = maxes.join(',');
      showCounters(s);
      void server?.setPolicy.remote(policy);
      $('rl-status').textContent = `iteration ${s.iteration} of ${run.iterations} · ${fmt((performance.now() - t0) / 1000, 1)} s`;
      section.dataset.iterations = String(chart.points);
      section.dataset.lastMean = String(s.meanReward);
      section.dataset.longestTaskMs = String(longestTask());
    });
    if (controller.signal.aborted) {
      section.dataset.state = 'stopped';
      $('rl-status').textContent = `stopped after ${chart.points} iterations`;
      return summary('stopped');
    }
    const trained = `${run.iterations} iterations in ${fmt((performance.now() - t0) / 1000, 1)} s`;
    $('rl-status').textContent = `${trained}; evaluating the policy on ${run.evalEpisodes} episodes without noise…`;
    const { mean } = await evaluate({ env, policy, episodes: run.evalEpisodes, seed });
    total.evalMean = mean;
    section.dataset.evalMean = String(mean);
    figure('eval-mean', mean, fmt(mean, 1));
    section.dataset.state = 'done';
    $('rl-status').textContent = `${trained}. Evaluation: mean reward ${fmt(mean, 1)} over ${run.evalEpisodes} episodes` +
      (mean >= run.goal ? `: reaches the goal, ${fmt(run.goal)}${env === 'cartpole' ? ' (solved)' : ''}.` : `: below the goal, ${fmt(run.goal)}.`);
    return summary('done');
  } catch (e) {
    section.dataset.state = 'failed';
    throw e;
  }
}

export function stopTraining(): void {
  controller?.abort();
}
