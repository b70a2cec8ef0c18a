// The function table's module entries: what a node says when a module lacks the export to run.
import { describe, expect, it } from 'vitest';
import { FunctionTable } from './functions.js';

const dataUrl = (code: string) => `data:text/javascript,${encodeURIComponent(code)}`;

describe('FunctionTable: module entries', () => {
  it('imports the module once and runs its export', async () => {
    const table = new FunctionTable();
    table.register({ kind: 'module', id: 'f1', name: 'double', url: dataUrl('export const double = (x) => 2 * x;'), exportName: 'double' });
    const inst = await table.get('f1');
    expect(inst({ api: () => { throw new Error('unused'); } })(4)).toBe(8);
    expect(table.get('f1')).toBe(inst);
  });

  it('a module emptied by a build (no exports) names the exports it has and points to the webray/vite plugin', async () => {
    const table = new FunctionTable();
    table.register({ kind: 'module', id: 'f2', name: 'double', url: dataUrl('const double = 1;'), exportName: 'double' });
    await expect(table.get('f2')).rejects.toThrow(/no exported function or class 'double' \(exports: none\)\. .*webray\/vite/);
  });
});
