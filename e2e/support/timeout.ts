/** Every wait in the e2e tests is bounded: a hung browser must fail a test, never the whole run. */
export async function withTimeout<T>(what: string, ms: number, work: Promise<T> | (() => Promise<T>), detail?: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const extra = detail?.();
      reject(new Error(`${what}: no answer after ${ms} ms${extra ? `\n--- page log ---\n${extra}` : ''}`));
    }, ms);
  });
  try {
    return await Promise.race([typeof work === 'function' ? work() : work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `cond` every 100 ms until it holds, at most `ms`: a bounded wait on an event (never a sleep standing in for one). */
export async function until(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not within ${ms} ms: ${what}`);
}
