// Builds the console into dist/: index.html plus content-hashed assets under dist/assets/
// (app-<hash>.js, app-<hash>.css, Leaflet's images). `node build.mjs` (npm run build).
import * as esbuild from 'esbuild';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

const root = path.dirname(new URL(import.meta.url).pathname);
const dist = path.join(root, 'dist');

await rm(dist, { recursive: true, force: true });
await mkdir(path.join(dist, 'assets'), { recursive: true });

const result = await esbuild.build({
  entryPoints: { app: path.join(root, 'src/main.js') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  outdir: path.join(dist, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: '[name]-[hash]',
  splitting: true,
  assetNames: '[name]-[hash]',
  publicPath: '/console/assets',
  loader: { '.png': 'file', '.svg': 'file', '.woff2': 'file' },
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => path.basename(p));
const js = outputs.find((n) => /^app-.*\.js$/.test(n));
const css = outputs.find((n) => /^app-.*\.css$/.test(n));
const template = await readFile(path.join(root, 'src/index.html'), 'utf8');
const html = template
  .replace('%CSS%', css ? `<link rel="stylesheet" href="/console/assets/${css}">` : '')
  .replace('%JS%', `<script type="module" src="/console/assets/${js}"></script>`);
await writeFile(path.join(dist, 'index.html'), html);

for (const [file, { bytes }] of Object.entries(result.metafile.outputs)) {
  console.log(`  ${path.relative(root, file)}  ${(bytes / 1024).toFixed(1)} KiB`);
}
