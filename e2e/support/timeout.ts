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
