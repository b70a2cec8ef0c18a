/** Which JavaScript engine a browser runs, from its user agent (verify.sameEngine compares only among one engine's hosts). */

/** The engine family: Firefox's own, Chromium's (Chrome, Edge, Opera…), else WebKit's (Safari, every browser on iOS). */
export function engineOf(userAgent: string): string {
  if (/Firefox\//.test(userAgent)) return 'spidermonkey';
  // (Headless Chromium says HeadlessChrome/.)
  if (/(Chrome|Chromium|Edg)\//.test(userAgent)) return 'v8';
  if (/\bAppleWebKit\//.test(userAgent)) return 'javascriptcore';
  return 'unknown';
}
