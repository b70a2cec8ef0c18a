/**
 * Real Chromium for e2e tests: Debian's `chromium` driven by playwright-core (browser downloads
 * do not work on machines without internet). Flags from shared/NOTES-platform.md.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

function installedChromium(): string {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}. Install it with 'apt-get install -y chromium' ` +
        `(pnpm test does that by itself when run as root), or point WEBRAY_CHROMIUM at a Chromium binary.`,
    );
  }
  return executablePath;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: installedChromium(), args: CHROMIUM_FLAGS, headless: true, timeout: 60_000 });
}

/** A Chromium whose tabs a test can hide, with what closes it. */
export interface HideableChromium {
  /** The browser's own context: a tab opened in front of another hides it. */
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Chromium driven over the DevTools Protocol (loopback) whose default context has no focus
 * emulation (playwright's `noDefaults`). Playwright's own contexts emulate focus, and a focused
 * page stays visible whatever else happens; here a tab is hidden, as a person's is, when another
 * tab opens in front of it.
 */
export async function launchHideableChromium(origin: string): Promise<HideableChromium> {
  const profile = mkdtempSync(join(tmpdir(), 'webray-chromium-'));
  // Its own process group: closing it ends its helper processes too, which write to the profile.
  const child = spawn(installedChromium(), [...CHROMIUM_FLAGS, '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Chromium printed no DevTools endpoint within 60 s:\n${stderr.slice(-2000)}`)), 60_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += String(d);
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`Chromium exited (${code}) before it listened:\n${stderr.slice(-2000)}`)); });
  });
  const browser = await chromium.connectOverCDP(endpoint, { noDefaults: true, timeout: 60_000 });
  const context = await forTests(browser.contexts()[0]!, origin);
  return {
    context,
    async close() {
      // Chromium and its helpers write the profile until they have exited: remove it after that.
      const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r));
      const cdp = await browser.newBrowserCDPSession().catch(() => undefined);
      await cdp?.send('Browser.close').catch(() => undefined);
      await browser.close();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* the group is gone already */ }
      await exited;
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}

/**
 * A fresh context for one test. The microphone permission is what makes Chromium gather
 * loopback ICE candidates (without it WebRTC silently never connects), so every context has it.
 */
export async function newContext(browser: Browser, origin: string): Promise<BrowserContext> {
  return forTests(await browser.newContext(), origin);
}

async function forTests(context: BrowserContext, origin: string): Promise<BrowserContext> {
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
