/** Writing a text file where the platform has files (Node); a browser page has none to write. */
import { RayUsageError } from '../shared/errors.js';
import { isNode } from './detect.js';

/**
 * Writes `text` to `path` (Node). In a browser it refuses: a page cannot write a file by name,
 * and starting a download unasked would surprise; the caller has the data to save as it likes.
 */
export async function writeTextFile(path: string, text: string, what: string): Promise<void> {
  if (!isNode) {
    throw new RayUsageError(`${what}: a browser cannot write the file '${path}'. Call it without a filename and save the returned events yourself (e.g. as a Blob download).`);
  }
  // A computed specifier keeps node:fs out of browser bundles (as detect.ts does for the platform).
  const fs = (await import(/* @vite-ignore */ ['node', 'fs/promises'].join(':'))) as typeof import('node:fs/promises');
  await fs.writeFile(path, text);
}
