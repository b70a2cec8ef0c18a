/** Draws what the serving actor returns for one animation frame: the cart-pole, or the walker in 2-D. */
import type { Frame } from '../rl/serving.ts';

function fit(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 480;
  const hgt = canvas.clientHeight || 220;
  if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
  if (canvas.height !== Math.round(hgt * dpr)) canvas.height = Math.round(hgt * dpr);
  const g = canvas.getContext('2d')!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, hgt);
  return g;
}

function caption(g: CanvasRenderingContext2D, text: string): void {
  g.fillStyle = '#6b7385';
  g.font = '12px system-ui, sans-serif';
  g.fillText(text, 8, 16);
}

function drawCartPole(canvas: HTMLCanvasElement, f: Extract<Frame, { kind: 'cartpole' }>): void {
  const g = fit(canvas);
  const w = canvas.clientWidth || 480;
  const hgt = canvas.clientHeight || 220;
  // The track is ±2.4 m (where the episode ends); the pole is 1 m long.
  const scale = (w - 40) / 4.8;
  const groundY = hgt - 40;
  const cx = w / 2 + f.x * scale;
  g.strokeStyle = '#c9ced8';
  g.beginPath(); g.moveTo(20, groundY); g.lineTo(w - 20, groundY); g.stroke();
  g.fillStyle = '#1d2330';
  g.fillRect(cx - 25, groundY - 18, 50, 18);
  g.strokeStyle = '#e0662f';
  g.lineWidth = 6;
  g.lineCap = 'round';
  g.beginPath();
  g.moveTo(cx, groundY - 18);
  g.lineTo(cx + Math.sin(f.theta) * scale, groundY - 18 - Math.cos(f.theta) * scale);
  g.stroke();
  g.lineWidth = 1;
  caption(g, `${f.t.toFixed(2)} s · episode reward ${f.episodeReward.toFixed(0)}`);
}

function drawWalker(canvas: HTMLCanvasElement, f: Extract<Frame, { kind: 'walker' }>): void {
  const g = fit(canvas);
  const w = canvas.clientWidth || 480;
  const hgt = canvas.clientHeight || 220;
  const scale = hgt / 2.6;
  const groundY = hgt - 24;
  // The camera follows the walker: the ground's marks show how far it went.
  const xs = f.segments.flatMap((s) => [s[0], s[2]]);
  const centre = xs.length ? (Math.min(...xs) + Math.max(...xs)) / 2 : 0;
  const px = (x: number) => w / 2 + (x - centre) * scale;
  const py = (z: number) => groundY - z * scale;
  g.strokeStyle = '#c9ced8';
  g.beginPath(); g.moveTo(0, groundY); g.lineTo(w, groundY); g.stroke();
  g.fillStyle = '#6b7385';
  g.font = '10px system-ui, sans-serif';
  for (let m = Math.floor(centre - w / scale / 2); m <= centre + w / scale / 2; m++) {
    g.fillRect(px(m), groundY, 1, 5);
    g.fillText(`${m} m`, px(m) + 2, groundY + 14);
  }
  g.lineCap = 'round';
  // The walker's capsules in model order: torso, then the right leg's three, then the left's
  // (drawn first, behind, in another colour: in 2-D the legs overlap).
  const colour = (i: number) => (i === 0 ? '#1d2330' : i <= 3 ? '#2f6fde' : 'rgba(224, 102, 47, 0.85)');
  const order = f.segments.map((_, i) => i).sort((a, b) => Number(b >= 4) - Number(a >= 4));
  for (const i of order) {
    const [x1, z1, x2, z2, r] = f.segments[i]!;
    g.strokeStyle = colour(i);
    g.lineWidth = Math.max(2, 2 * r * scale);
    g.beginPath(); g.moveTo(px(x1), py(z1)); g.lineTo(px(x2), py(z2)); g.stroke();
  }
  g.lineWidth = 1;
  caption(g, `${f.t.toFixed(2)} s · x ${centre.toFixed(2)} m · episode reward ${f.episodeReward.toFixed(0)}`);
}

export function drawScene(canvas: HTMLCanvasElement, f: Frame): void {
  if (f.kind === 'cartpole') drawCartPole(canvas, f);
  else drawWalker(canvas, f);
}
