// Module hooks of the bench's lying host (registered by an `--import` in its process and each of
// its worker threads): an import of the honest task module resolves to the lying copy,
// verify-cost-liar.mjs, except from that copy itself. webray checks the digest of the module file
// its signed entry names, which is untouched: what a host actually runs is its own affair.
const HONEST = new URL('./verify-cost-rollouts.mjs', import.meta.url).href;
const LIAR = new URL('./verify-cost-liar.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  return r.url === HONEST && context.parentURL !== LIAR ? { ...r, url: LIAR } : r;
}
