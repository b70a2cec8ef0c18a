/**
 * The volunteer link: what a person needs to lend their tab, short enough to share. The fragment
 * (never sent to any server) holds the cluster id, the join token, the signalling server, the
 * submitter's public key and the operator's, both in webray's compact form, and the name the
 * coordinator gave. It never holds a private key.
 */
import * as ray from 'webray';

export interface VolunteerLink {
  cluster: ray.ClusterConfig;
  /** The name the coordinator gave (who asks for the tab's time). */
  coordinator: string;
}

type Shared = Pick<ray.ClusterConfig, 'id' | 'token' | 'signal' | 'submitterPublicKey' | 'operatorPublicKey'>;

/** The link a coordinator shares: `page` is the volunteer page's URL. */
export async function volunteerLink(page: string, c: Shared, coordinator: string): Promise<string> {
  const s = c.signal!;
  const p = new URLSearchParams({
    c: c.id, t: c.token,
    s: `${s.secure ? 'wss://' : ''}${s.host}:${s.port}${s.path && s.path !== '/' ? s.path : ''}`,
    k: await ray.compactPublicKey(c.submitterPublicKey),
    ...(c.operatorPublicKey ? { o: await ray.compactPublicKey(c.operatorPublicKey) } : {}),
    n: coordinator,
  });
  return `${page}#${p}`;
}

/** Reads a volunteer link's fragment; says what is missing or wrong, for a person to act on. */
export function readVolunteerLink(fragment: string): VolunteerLink {
  const p = new URLSearchParams(fragment);
  const need = (k: string, what: string) => {
    const v = p.get(k);
    if (!v) throw new Error(`this volunteer link lacks ${what} ('${k}='): ask the coordinator for the whole link again.`);
    return v;
  };
  const signal = /^(wss:\/\/)?([^:/]+):(\d+)(\/.*)?$/.exec(need('s', 'the signalling server'));
  if (!signal) throw new Error(`this volunteer link's signalling server '${p.get('s')}' is not host:port[/path]: ask the coordinator for the whole link again.`);
  const operator = p.get('o');
  return {
    coordinator: p.get('n') || 'an unnamed coordinator',
    cluster: {
      id: need('c', 'the cluster id'),
      token: need('t', 'the join token'),
      submitterPublicKey: need('k', 'the submitter\'s public key'),
      ...(operator ? { operatorPublicKey: operator } : {}),
      signal: { host: signal[2]!, port: Number(signal[3]), path: signal[4] ?? '/', ...(signal[1] ? { secure: true } : {}) },
      iceServers: [],
    },
  };
}
