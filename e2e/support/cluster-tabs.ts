/**
 * Tabs of the cluster test page (e2e/pages/cluster) in one Chromium, each tab a host, its init
 * options in the URL fragment, with the local PeerJS server they meet through.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { capturePageLog, launchChromium, launchHideableChromium, newContext, type HideableChromium, type PageLog } from './chromium.js';
import { startPeerServer, type RunningPeerServer } from './peer-server.js';
import { withTimeout } from './timeout.js';
import { pageDir, startDevServer, type RunningServer } from './vite-server.js';

export interface Tab {
  page: Page;
  log: PageLog;
  status: string;
  error?: string;
}

export class ClusterTabs {
  readonly tabs: Tab[] = [];
  private hideable: HideableChromium | undefined;

  private constructor(
    public peers: RunningPeerServer,
    private readonly server: RunningServer,
    private readonly browser: Browser,
    private readonly context: BrowserContext,
  ) {}

  /** A PeerJS server, the Vite server of a page under e2e/pages/ and Chromium, ready for tabs. */
  static async start(page = 'cluster'): Promise<ClusterTabs> {
    const peers = await startPeerServer();
    const server = await startDevServer({ root: pageDir(page) });
    const browser = await launchChromium();
    return new ClusterTabs(peers, server, browser, await newContext(browser, server.origin));
  }

  /**
   * Opens a tab that joins with these init options; resolves once its init settled. `prepare`
   * runs on the new page before it loads anything (e.g. to route the scripts it fetches).
   */
  open(options: Record<string, unknown>, prepare?: (page: Page) => Promise<void>): Promise<Tab> {
    return this.openIn(this.context, options, prepare);
  }

  /** Opens a tab as `open` does, in a second Chromium where `hide` can hide it. */
  async openHideable(options: Record<string, unknown>): Promise<Tab> {
    this.hideable ??= await launchHideableChromium(this.server.origin);
    return this.openIn(this.hideable.context, options);
  }

  /** Hides a tab from `openHideable` as a person does, by opening another tab in front of it; resolves once the page says it is hidden. */
  async hide(tab: Tab): Promise<void> {
    await tab.page.context().newPage();
    // Polled on the page's timers: a hidden page runs no animation frames.
    await tab.page.waitForFunction(() => document.visibilityState === 'hidden', undefined, { polling: 100, timeout: 30_000 });
  }

  private async openIn(context: BrowserContext, options: Record<string, unknown>, prepare?: (page: Page) => Promise<void>): Promise<Tab> {
    const page = await context.newPage();
    const log = capturePageLog(page);
    await prepare?.(page);
    await withTimeout('loading the tab', 30_000, page.goto(`${this.server.url}#${encodeURIComponent(JSON.stringify(options))}`), () => log.text());
    await withTimeout('ray.init in the tab', 60_000, page.waitForFunction(() => window.clusterStatus !== 'loading', undefined, { timeout: 60_000 }), () => log.text());
    const s = await page.evaluate(() => ({ status: window.clusterStatus, error: window.clusterError }));
    const tab = { page, log, ...s };
    this.tabs.push(tab);
    return tab;
  }

  /** Stops the PeerJS server and starts it again on the same port (hosts keep its address). */
  async restartPeers(): Promise<void> {
    await this.peers.close();
    this.peers = await startPeerServer(this.peers.port);
  }

  /** Closes a tab as its user would; it leaves `tabs`. */
  async closeTab(tab: Tab): Promise<void> {
    this.tabs.splice(this.tabs.indexOf(tab), 1);
    await tab.page.close({ runBeforeUnload: false });
  }

  /** The last lines each tab logged, for failure messages. */
  readonly logs = (): string => this.tabs.map((t, i) => `--- tab ${i} ---\n${t.log.text(40)}`).join('\n');

  async close(): Promise<void> {
    await this.hideable?.close();
    await this.context.close();
    await this.browser.close();
    await this.server.close();
    await this.peers.close();
  }
}
