/** The cluster's tables in a file of `stateDir` (Node; see tables-store.ts), written whole and renamed into place. */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TablesStore } from './types.js';

export function fileTables(stateDir: string, cluster: string): TablesStore {
  const file = join(stateDir, `webray-tables-${encodeURIComponent(cluster)}.json`);
  return {
    where: file,
    load: async () => {
      try {
        return JSON.parse(await readFile(file, 'utf8')) as unknown;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    save: async (tables) => {
      await mkdir(stateDir, { recursive: true });
      // A crash mid-write leaves the previous file, not half of one.
      await writeFile(`${file}.tmp`, JSON.stringify(tables));
      await rename(`${file}.tmp`, file);
    },
  };
}
