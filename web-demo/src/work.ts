/**
 * The code that runs on webray's nodes (Web Workers).
 *
 * Everything here is shipped to the workers by its SOURCE TEXT, so each function and class must
 * be self-contained: no closures over module variables or other imports. Globals (Math,
 * performance) are fine, and `ray` inside them is the webray runtime, bound by webray for each
 * call (the webray/vite plugin keeps it recognisable through a production build).
 */
import * as ray from 'webray';
import type { ActorHandle } from 'webray';

/** One Monte-Carlo π sample batch: how many of `samples` random points fall in the unit circle. */
export function samplePi(samples: number): PiBatch {
  const t0 = performance.now();
  let inside = 0;
  for (let i = 0; i < samples; i++) {
    const x = Math.random();
    const y = Math.random();
    if (x * x + y * y <= 1) inside++;
  }
  return { inside, samples, nodeId: ray.getRuntimeContext().nodeId, ms: performance.now() - t0 };
}

export interface PiBatch {
  inside: number;
  samples: number;
  /** The worker that ran the batch. */
  nodeId: string;
  ms: number;
}

/**
 * A parameter server (the classic Ray actor example): it holds the model, hands out the current
 * weights and applies gradients pushed by workers. The model is a line y = w·x + b.
 */
export class ParameterServer {
  w = 0;
  b = 0;
  lr: number;
  version = 0;
  updatesByNode: Record<string, number> = {};

  constructor(lr: number) {
    this.lr = lr;
  }

  getWeights(): Weights {
    return { w: this.w, b: this.b, version: this.version };
  }

  applyGradient(gw: number, gb: number, nodeId: string): number {
    this.w -= this.lr * gw;
    this.b -= this.lr * gb;
    this.version++;
    this.updatesByNode[nodeId] = (this.updatesByNode[nodeId] ?? 0) + 1;
    return this.version;
  }

  snapshot(): PsState {
    return { w: this.w, b: this.b, version: this.version, updatesByNode: { ...this.updatesByNode } };
  }
}

export interface Weights {
  w: number;
  b: number;
  version: number;
}

export interface PsState extends Weights {
  updatesByNode: Record<string, number>;
}

/**
 * A data-parallel SGD worker: a normal task that receives the parameter server's actor handle as
 * an argument, pulls the weights, computes a gradient on a fresh minibatch of y = 3x − 2 + noise,
 * and pushes it back — `steps` times.
 */
export async function trainWorker(ps: ActorHandle<ParameterServer>, steps: number, batch: number): Promise<TrainResult> {
  const nodeId = ray.getRuntimeContext().nodeId;
  let loss = 0;
  for (let s = 0; s < steps; s++) {
    const { w, b } = await ray.get(ps.getWeights.remote());
    let gw = 0;
    let gb = 0;
    loss = 0;
    for (let i = 0; i < batch; i++) {
      const x = Math.random() * 2 - 1;
      const y = 3 * x - 2 + (Math.random() - 0.5) * 0.2;
      const err = w * x + b - y;
      gw += (2 * err * x) / batch;
      gb += (2 * err) / batch;
      loss += (err * err) / batch;
    }
    await ray.get(ps.applyGradient.remote(gw, gb, nodeId));
  }
  return { nodeId, steps, lastLoss: loss };
}

export interface TrainResult {
  nodeId: string;
  steps: number;
  lastLoss: number;
}
