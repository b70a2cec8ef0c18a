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
