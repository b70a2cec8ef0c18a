/**
 * The cluster the demo tab drives, from its link. `pnpm demo` prints a driver link whose fragment
 * holds the cluster id, join token and signalling server; the driver tab makes its own submitter
 * key (a key that signs code never travels in a link) and shows the volunteer link other tabs
 * join with: the same cluster plus the public key, in compact form (see volunteer-link.ts). The
 * fragment is read as link-fragment.ts reads one (a reload stays in the cluster, with the same key).
 */
import * as ray from 'webray';
import { linkFromFragment } from './link-fragment.ts';
import { volunteerLink } from './volunteer-link.ts';

interface LinkData {
  cluster: Omit<ray.ClusterConfig, 'submitterKey' | 'submitterPublicKey'>;
  role: 'driver';
}

export interface ClusterRole {
  cluster: ray.ClusterConfig;
  /** The link volunteers open to lend their tab. */
  joinLink: string;
}

const STORAGE_KEY = 'webray-demo-cluster';

/** Whether a fragment holds what a driver link must, and nothing that must never be in one. */
function parseLink(fragment: string): LinkData {
  let data: unknown;
  try {
    data = JSON.parse(decodeURIComponent(fragment));
  } catch {
    throw new Error('the link\'s fragment (after #) is not the JSON `pnpm demo` prints: copy the whole link again (a volunteer link opens volunteer.html).');
  }
  const c = (data as { cluster?: Record<string, unknown> } | null)?.cluster;
  if (typeof c !== 'object' || c === null) throw new Error('the link has no cluster config: open a link that `pnpm demo` printed.');
  if ('submitterKey' in c) {
    throw new Error('this link carries a private submitter key, which signs the code every host runs: never put it in a link. ' +
      'Open the driver link that `pnpm demo` prints (the driver tab makes its own key).');
  }
  for (const k of ['id', 'token'] as const) {
    if (typeof c[k] !== 'string' || c[k] === '') throw new Error(`the link's cluster config lacks '${k}': copy the whole link again.`);
  }
  if ((data as { role?: unknown }).role !== 'driver') throw new Error('this is not a driver link: open the driver link `pnpm demo` prints (volunteers open volunteer.html).');
  return data as LinkData;
}

/** The driver's key pair, kept for this tab's session so a reload signs with the same key. */
async function driverKeys(): Promise<{ privateKey: string; publicKey: string }> {
  const saved = sessionStorage.getItem(`${STORAGE_KEY}-keys`);
  if (saved) return JSON.parse(saved) as { privateKey: string; publicKey: string };
  const keys = await ray.generateSubmitterKey();
  sessionStorage.setItem(`${STORAGE_KEY}-keys`, JSON.stringify(keys));
  return keys;
}

/** The cluster this tab drives, from its link (or from before a reload); undefined for a tab on its own. */
export async function clusterFromLink(): Promise<ClusterRole | undefined> {
  const link = linkFromFragment(STORAGE_KEY, parseLink);
  if (!link) return undefined;
  const keys = await driverKeys();
  const cluster = { ...link.cluster, submitterPublicKey: keys.publicKey };
  return {
    cluster: { ...cluster, submitterKey: keys.privateKey },
    joinLink: await volunteerLink(new URL('volunteer.html', location.href).href, cluster, 'the webray demo'),
  };
}
