/** Turns markers received from another thread back into live webray objects, bound to a caller. */
import { decode, markerKind, type Marker } from '../shared/codec.js';
import type { FunctionDescriptor } from '../shared/protocol.js';
import type { TaskOptions } from '../shared/options.js';
import type { Caller, CoreWorker } from './core.js';
import { ObjectRef } from './object-ref.js';
import { actorHandle, RemoteFunction } from './remote.js';

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
