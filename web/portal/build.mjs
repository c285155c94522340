// Builds the hospital portal: node web/portal/build.mjs <out_dir>
//
// Bundles src/app.js (and everything it imports from src/ and node_modules/) into <out_dir>/app.js
// for current browsers, minified, with a source map, and copies the static files beside it. No CDN
// at run time: the output directory is the whole site. The output is deterministic (same sources,
// same bytes), so a hospital can compare what it serves with what was reviewed.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.join(here, 'src');
const kStatic = [
  ['index.html', 'index.html'],
  ['styles.css', 'styles.css'],
  ['config.example.json', 'config.example.json'],
];

async function exists(file) {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

async function copyAssets(from, to) {
  if (!(await exists(from))) return 0;
  await mkdir(to, { recursive: true });
  let count = 0;
  const entries = (await readdir(from, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) count += await copyAssets(source, target);
    else if (entry.isFile()) {
      await copyFile(source, target);
      count += 1;
    }
  }
  return count;
}

async function main() {
  const outArg = process.argv[2];
  if (!outArg) {
    console.error('usage: node build.mjs <out_dir>');
    return 2;
  }
  const out = path.resolve(outArg);
  await mkdir(out, { recursive: true });
  for (const stale of ['app.js', 'app.js.map']) await rm(path.join(out, stale), { force: true });

  const result = await build({
    absWorkingDir: here,
    entryPoints: [path.join(src, 'app.js')],
    outfile: path.join(out, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120', 'firefox120', 'safari17'],
    minify: true,
    sourcemap: true,
    sourcesContent: true,
    legalComments: 'eof',
    charset: 'utf8',
    logLevel: 'warning',
    metafile: false,
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  if (result.errors.length > 0) return 1;

  for (const [from, to] of kStatic) {
    const source = path.join(src, from);
    if (!(await exists(source))) {
      console.error(`build.mjs: missing ${path.relative(here, source)}`);
      return 1;
    }
    await copyFile(source, path.join(out, to));
  }
  const assets = await copyAssets(path.join(src, 'assets'), path.join(out, 'assets'));
  console.log(`portal built in ${out} (app.js, ${kStatic.length} static files, ${assets} assets)`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`build.mjs: ${error.message ?? error}`);
    process.exit(1);
  },
);
