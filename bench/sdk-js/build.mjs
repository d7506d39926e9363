// Bundles Segment's analytics-next for the benchmark page (dist/segment-page.js, global
// `SegmentBench`) and reports the minified sizes of both browser SDKs.
import { build } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(join(here, "dist"), { recursive: true });
writeFileSync(
  join(here, "dist", "segment-entry.js"),
  'export { AnalyticsBrowser } from "@segment/analytics-next";\n',
);
await build({
  entryPoints: [join(here, "dist", "segment-entry.js")],
  outfile: join(here, "dist", "segment-page.js"),
  bundle: true,
  minify: true,
  format: "iife",
  globalName: "SegmentBench",
  platform: "browser",
  target: ["es2020"],
  logLevel: "warning",
  absWorkingDir: here,
});
