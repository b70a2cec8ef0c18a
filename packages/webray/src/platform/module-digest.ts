/**
 * The SHA-256 of a task module's text, as its URL serves it now. A signed module entry carries
 * the digest taken when it was first shipped, and a host checks it before running the module,
 * so a URL that later serves other code cannot run under the old signature.
 */

/** Reads the module's text: `file:` URLs from disk (Node), anything else with fetch. */
async function moduleText(url: string): Promise<Uint8Array> {
  if (url.startsWith('file:')) {
    // Computed specifiers: a browser bundle never pulls in Node's modules.
    const fsName = 'node:fs/promises';
    const urlName = 'node:url';
    const [fs, nodeUrl] = await Promise.all([
      import(/* @vite-ignore */ fsName) as Promise<typeof import('node:fs/promises')>,
      import(/* @vite-ignore */ urlName) as Promise<typeof import('node:url')>,
    ]);
    return new Uint8Array(await fs.readFile(nodeUrl.fileURLToPath(url)));
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** The module's SHA-256, lowercase hex. Rejects if the URL cannot be read. */
export async function moduleDigest(url: string): Promise<string> {
  const hash = await crypto.subtle.digest('SHA-256', (await moduleText(url)) as BufferSource);
  return [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
