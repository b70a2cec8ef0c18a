/**
 * Real Chromium for e2e tests: Debian's `chromium` driven by playwright-core (browser downloads
 * do not work on machines without internet). Flags from shared/NOTES-platform.md.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Headless flags that work as root in a sandbox; the last one lets WebRTC use loopback. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
];

/** `WEBRAY_CHROMIUM` overrides the default `/usr/bin/chromium`. */
export function chromiumPath(): string {
  return process.env.WEBRAY_CHROMIUM || '/usr/bin/chromium';
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}. Install it with 'apt-get install -y chromium' ` +
        `(pnpm test does that by itself when run as root), or point WEBRAY_CHROMIUM at a Chromium binary.`,
    );
  }
  return chromium.launch({ executablePath, args: CHROMIUM_FLAGS, headless: true, timeout: 60_000 });
}

/**
 * A fresh context for one test. The microphone permission is what makes Chromium gather
 * loopback ICE candidates (without it WebRTC silently never connects), so every context has it.
 */
export async function newContext(browser: Browser, origin: string): Promise<BrowserContext> {
  const context = await browser.newContext();
  context.setDefaultTimeout(30_000);
  context.setDefaultNavigationTimeout(30_000);
  await context.grantPermissions(['microphone'], { origin });
  return context;
}

/** Everything the page (and its workers) printed, for failure messages. */
export interface PageLog {
  lines: string[];
  /** The log as one string, the last `max` lines. */
  text(max?: number): string;
}

export function capturePageLog(page: Page): PageLog {
  const lines: string[] = [];
  page.on('console', (m) => {
    const where = m.type() === 'error' && m.location().url ? ` (${m.location().url})` : '';
    lines.push(`[console.${m.type()}] ${m.text()}${where}`);
  });
  page.on('pageerror', (e) => lines.push(`[pageerror] ${e.stack || e.message}`));
  page.on('crash', () => lines.push('[crash] the page crashed'));
  page.on('requestfailed', (r) => lines.push(`[requestfailed] ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => { if (r.status() >= 400) lines.push(`[http ${r.status()}] ${r.url()}`); });
  page.on('worker', (w) => {
    lines.push(`[worker] started ${w.url()}`);
    w.on('close', () => lines.push(`[worker] closed ${w.url()}`));
  });
  return { lines, text: (max = 60) => lines.slice(-max).join('\n') };
}
