// The head: webray's real GlobalScheduler, fed by 'load' frames and answering 'place' with
// 'placed', as ClusterHost.receive / placeHere do on the head.
import { GlobalScheduler } from '../../../webray/dist/scheduler/global.js';

export class SimHead {
  /** `observe(tasks, hosts)`: the harness's locality check, run outside the timed work. */
  constructor(id, hosts, world, observe) {
    this.id = id;
    this.world = world;
    this.global = new GlobalScheduler();
    for (const h of hosts) this.global.hostJoined(h.id, { CPU: h.cpus });
    this.observe = observe;
    world.net.attach(id, 'head', (from, f) => this.#receive(from, f));
  }

  #receive(from, f) {
    switch (f.t) {
      case 'load':
        this.global.report(from, f);
        return;
      case 'place': {
        const hosts = f.tasks.map((t) => this.global.place(t.demand, t.args) ?? from);
        this.world.meter.outside(() => this.observe(f.tasks, hosts));
        this.world.net.send(this.id, from, { t: 'placed', req: f.req, hosts });
        return;
      }
      default:
        this.world.net.drops.add(`'${f.t}' is not for the head in the sim`);
    }
  }
}
