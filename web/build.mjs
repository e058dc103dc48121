// Builds the browser chat into web/dist, which the app serves at `/` (src/web/web.module.ts):
// web/src/main.ts bundled with its libraries (marked, DOMPurify) into one script, beside the page
// and its stylesheet. Nothing is fetched at run time. Not under the root dist/, which `nest build`
// empties each time. `node web/build.mjs --watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = dirname(fileURLToPath(import.meta.url));
const out = join(web, 'dist');
const STATIC_FILES = ['index.html', 'styles.css'];

const copyStatic = {
  name: 'copy-static',
  setup(build) {
    build.onEnd(async () => {
      await Promise.all(STATIC_FILES.map((f) => copyFile(join(web, f), join(out, f))));
    });
  },
};

const options = {
  entryPoints: [join(web, 'src', 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  plugins: [copyStatic],
};

await mkdir(out, { recursive: true });
if (process.argv.includes('--watch')) {
  const context = await esbuild.context({ ...options, logLevel: 'info' });
  await context.watch();
} else {
  await esbuild.build(options);
}
