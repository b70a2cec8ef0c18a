#!/usr/bin/env node
// `pnpm host`: the package's bin (`npx webray host`, packages/webray/src/bin/webray.ts) run from
// this workspace, after `pnpm build`. Arguments go to `webray host`.
//
// Callers that pass the whole InitOptions as --config (the benchmarks) have their token moved to
// WEBRAY_TOKEN, off the bin's command line, and control the host through stdin as before.
const args = process.argv.slice(2);
const at = args.indexOf('--config');
if (at >= 0) {
  const config = JSON.parse(args[at + 1]);
  if (config.cluster?.token !== undefined) {
    process.env.WEBRAY_TOKEN = config.cluster.token;
    delete config.cluster.token;
    args[at + 1] = JSON.stringify(config);
  }
  args.push('--control-stdin');
}
const bin = new URL('../../webray/dist/bin/webray.js', import.meta.url);
process.argv = [process.argv[0], bin.pathname, 'host', ...args];
await import(bin.href);
