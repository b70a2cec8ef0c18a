/** The live reward plot (uPlot): mean and max episode reward of each ES iteration. */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export class RewardChart {
  private readonly plot: uPlot;
  private readonly data: [number[], number[], number[]] = [[], [], []];

  constructor(into: HTMLElement, goal?: number) {
    const width = Math.max(320, into.clientWidth || 600);
    this.plot = new uPlot({
      width,
      height: 220,
      scales: { x: { time: false } },
      axes: [{ label: 'iteration' }, { label: 'reward' }],
      series: [
        { label: 'iteration' },
        { label: 'mean', stroke: '#2f6fde', width: 2 },
        { label: 'max', stroke: '#e0662f', width: 1, dash: [4, 3] },
      ],
      ...(goal === undefined ? {} : {
        hooks: {
          draw: [(u: uPlot) => {
            // The goal as a horizontal line, so "solved" is visible.
            const y = u.valToPos(goal, 'y', true);
            const { left, width: w } = u.bbox;
            u.ctx.save();
            u.ctx.strokeStyle = '#2e9e5b';
            u.ctx.setLineDash([2, 4]);
            u.ctx.beginPath();
            u.ctx.moveTo(left, y);
            u.ctx.lineTo(left + w, y);
            u.ctx.stroke();
            u.ctx.restore();
          }],
        },
      }),
    }, this.data, into);
    new ResizeObserver(() => this.plot.setSize({ width: Math.max(320, into.clientWidth), height: 220 })).observe(into);
  }

  add(iteration: number, mean: number, max: number): void {
    this.data[0].push(iteration);
    this.data[1].push(mean);
    this.data[2].push(max);
    this.plot.setData(this.data);
  }

  /** Points plotted so far (the e2e test reads it). */
  get points(): number {
    return this.data[0].length;
  }

  destroy(): void {
    this.plot.destroy();
  }
}
