/**
 * A Vitest reporter that appends one JSON line per event to $WEBRAY_PROGRESS_FILE as it happens.
 * test-all.mjs reads it only when a suite is killed (time limit) or crashes before the JSON
 * reporter writes its file: it then still knows what passed, what failed, and which test hung.
 */
import { appendFileSync, writeFileSync } from 'node:fs';

export default class ProgressReporter {
  constructor() {
    this.file = process.env.WEBRAY_PROGRESS_FILE;
    if (this.file) writeFileSync(this.file, '');
  }

  write(event) {
    if (!this.file) return;
    try {
      appendFileSync(this.file, `${JSON.stringify(event)}\n`);
    } catch {
      // Progress is a fallback; never fail a run over it.
    }
  }

  onTestModuleStart(m) {
    this.write({ e: 'module-start', file: m.moduleId });
  }

  onTestCaseReady(t) {
    this.write({ e: 'test-start', file: t.module.moduleId, name: t.fullName });
  }

  onTestCaseResult(t) {
    this.write({ e: 'test-end', file: t.module.moduleId, name: t.fullName, state: t.result().state });
  }

  onTestModuleEnd(m) {
    const errors = (m.errors?.() ?? []).map((e) => e.message ?? String(e));
    this.write({ e: 'module-end', file: m.moduleId, state: m.state(), errors });
  }
}
