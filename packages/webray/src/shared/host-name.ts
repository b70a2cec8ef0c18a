/**
 * A host's name, for people (a dashboard tells two tabs' "node 1"s apart by it): given to
 * init({ hostName }) or the platform's default, carried in membership, checked on the wire.
 */

export const MAX_HOST_NAME = 64;

/** 1–64 characters, none of them control, format (bidirectional overrides), private-use or unassigned. */
const HOST_NAME = /^[^\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Cn}]{1,64}$/u;

export function isHostName(v: unknown): v is string {
  return typeof v === 'string' && HOST_NAME.test(v) && v.trim() === v;
}

/**
 * A valid host name made from `raw` (a machine's hostname can be empty or hold any byte): the
 * characters a name may not have dropped, trimmed, cut to 64; `fallback` if nothing is left.
 */
export function readableHostName(raw: string, fallback: string): string {
  const name = [...raw.replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Cn}]/gu, '')].slice(0, MAX_HOST_NAME).join('').trim();
  return isHostName(name) ? name : fallback;
}
