/** Turns markers received from another thread back into live webray objects, bound to a caller. */
import { decode, markerKind, type Marker } from '../shared/codec.js';
import type { FunctionDescriptor, UsesBinding } from '../shared/protocol.js';
import type { ActorOptions, TaskOptions } from '../shared/options.js';
import type { ActorSpec, Caller, CoreWorker } from './core.js';
import { ObjectRef } from './object-ref.js';
import { ActorClass, actorHandle, RemoteFunction } from './remote.js';

export function reviveMarker(core: CoreWorker, m: Marker, caller: Caller | undefined): unknown {
  switch (markerKind(m)) {
    case 'ref': {
      const r = m as Extract<Marker, { id: string; owner: string }>;
      return new ObjectRef(r.id, r.owner);
    }
    case 'actor': {
      const a = m as Extract<Marker, { cls: string }>;
      return actorHandle(a.id, a.cls, a.methods, a.asyncMethods, caller);
    }
    case 'fn': {
      const f = m as Extract<Marker, { fn: unknown }>;
      const d = f.fn as FunctionDescriptor;
      core.registerFunction(d);
      return new RemoteFunction(d, f.options as TaskOptions, caller);
    }
    case 'cls': {
      const c = m as Extract<Marker, { spec: unknown }>;
      const spec = c.spec as ActorSpec;
      core.registerFunction(spec.fn);
      return new ActorClass(spec, c.options as ActorOptions, caller);
    }
    case 'stored': {
      const s = m as Extract<Marker, { size: number }>;
      const v = core.readStored(s.id);
      return s.refs?.length ? reviveValue(core, v, caller) : v;
    }
  }
}

export function reviveValue(core: CoreWorker, v: unknown, caller: Caller | undefined): unknown {
  return decode(v, (m) => reviveMarker(core, m, caller));
}

/** A name bound by `ray.remote(fn, { uses, self })`, as the code running `self` on a node sees it. */
export function usedRemote(b: UsesBinding, self: FunctionDescriptor, caller: Caller | undefined): RemoteFunction<unknown[], unknown> | ActorClass<any> {
  if (b === 'self') return new RemoteFunction(self, {}, caller);
  if ('fn' in b) return new RemoteFunction(b.fn, b.options, caller);
  return new ActorClass({ fn: b.actor, className: b.className, methods: b.methods, asyncMethods: b.asyncMethods }, b.options, caller);
}
