/** Tabs of the cluster test page (e2e/pages/cluster): each one a host, its init options in the URL fragment. */
import type { BrowserContext, Page } from 'playwright-core';
import { capturePageLog, type PageLog } from './chromium.js';
import { withTimeout } from './timeout.js';

export interface Tab {
  page: Page;
  log: PageLog;
  status: string;
  error?: string;
}

export class ClusterTabs {
  readonly tabs: Tab[] = [];

  constructor(private readonly context: BrowserContext, private readonly url: string) {}

  /** Opens a tab that joins with these init options; resolves once its init settled. */
  async open(options: Record<string, unknown>): Promise<Tab> {
    const page = await this.context.newPage();
    const log = capturePageLog(page);
    await withTimeout('loading the tab', 30_000, page.goto(`${this.url}#${encodeURIComponent(JSON.stringify(options))}`), () => log.text());
    await withTimeout('ray.init in the tab', 60_000, page.waitForFunction(() => window.clusterStatus !== 'loading', undefined, { timeout: 60_000 }), () => log.text());
    const s = await page.evaluate(() => ({ status: window.clusterStatus, error: window.clusterError }));
    const tab = { page, log, ...s };
    this.tabs.push(tab);
    return tab;
  }

  /** The last lines each tab logged, for failure messages. */
  readonly logs = (): string => this.tabs.map((t, i) => `--- tab ${i} ---\n${t.log.text(40)}`).join('\n');
}
