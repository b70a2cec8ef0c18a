// The README's code blocks are part of the product: every ```ts block compiles with
// `tsc --strict` against the built package, and the first ```ts block and every ```js block run
// in Node against it, printing what their `console.log(...) // comment` lines say. A block that
// is not meant to compile or run is marked by an HTML comment `<!-- not run -->` right before it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Block {
  lang: string;
  /** 1-based line of the opening fence in README.md. */
  line: number;
  code: string;
  skipped: boolean;
}

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const readmePath = fileURLToPath(new URL('../../../README.md', import.meta.url));
const require = createRequire(import.meta.url);

/** Fenced blocks (also indented ones, inside list items), with their language tag. */
function codeBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) body.push(lines[j]!.slice(Math.min(indent, lines[j]!.search(/\S|$/))));
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    blocks.push({ lang: open[2]!, line: i + 1, code: body.join('\n'), skipped: k >= 0 && /<!--\s*not run\s*-->/.test(lines[k]!) });
    i = j;
  }
  return blocks;
}

/** What each `console.log(...) // comment` line promises to print: the comment up to its first ' — ', ': ' or '; '. */
function promisedOutput(block: Block): string[] {
  return block.code.split('\n').filter((l) => /^\s*console\.log\(/.test(l)).map((l) => {
    const comment = /\/\/\s*(.*)$/.exec(l);
    if (!comment) throw new Error(`README.md line ${block.line}: \`${l.trim()}\` has no comment saying what it prints; add one (e.g. // [1, 4, 9]) or mark the block <!-- not run -->.`);
    return comment[1]!.split(/ — |: |; /)[0]!.trim();
  });
}

const squash = (s: string) => s.replace(/\s+/g, '');

const blocks = codeBlocks(readFileSync(readmePath, 'utf8')).filter((b) => !b.skipped);
const tsBlocks = blocks.filter((b) => b.lang === 'ts' || b.lang === 'typescript');
const runBlocks = [...tsBlocks.slice(0, 1), ...blocks.filter((b) => b.lang === 'js' || b.lang === 'mjs')];
let dir: string;

beforeAll(() => {
  // A project that installed webray: node_modules/webray is the package (built by the global setup).
  dir = mkdtempSync(join(tmpdir(), 'webray-readme-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  symlinkSync(pkgDir, join(dir, 'node_modules', 'webray'), 'dir');
  symlinkSync(dirname(realpathSync(require.resolve('vite/package.json'))), join(dir, 'node_modules', 'vite'), 'dir');
  symlinkSync(dirname(realpathSync(require.resolve('@types/node/package.json'))), join(dir, 'node_modules', '@types', 'node'), 'dir');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README.md', () => {
  it('has a first example in TypeScript and in plain JavaScript', () => {
    expect(tsBlocks.length).toBeGreaterThan(0);
    expect(runBlocks.length).toBeGreaterThan(1);
  });

  it('its TypeScript blocks compile with tsc --strict against the package', () => {
    const files = tsBlocks.map((b) => {
      const file = `readme-line-${b.line}.ts`;
      writeFileSync(join(dir, file), b.code);
      return file;
    });
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext',
        lib: ['es2023', 'dom', 'esnext.disposable'], types: ['node'], skipLibCheck: true,
      },
      files,
    }));
    let out = '';
    try {
      execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
    } catch (e) {
      out = String((e as { stdout?: string }).stdout ?? e);
    }
    // File names carry the README line of the block, so a failure points at it.
    expect(out).toBe('');
  }, 120_000);

  it.each(runBlocks.map((b) => [b.line, b] as const))('the block at line %i runs in Node and prints what its comments say', (line, block) => {
    const js = block.lang.startsWith('t')
      ? ts.transpileModule(block.code, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText
      : block.code;
    const file = join(dir, `readme-line-${line}.mjs`);
    writeFileSync(file, js);
    const printed = execFileSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 120_000 }).trimEnd().split('\n');
    expect(printed.map(squash)).toEqual(promisedOutput(block).map(squash));
  }, 150_000);
});
