// Builds the package with esbuild (and the type declarations with tsc):
//   dist/index.mjs, dist/index.cjs   the SDK as ES module and CommonJS, no dependencies
//   dist/tidings.min.js              the browser bundle (global `Tidings`), minified
//   dist/simulate.js                 the scenario runner for Node
//   dist/types/                      TypeScript declarations
// With --tests it builds test/*.test.ts into build/test/ for `node --test`.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const common = { bundle: true, target: ["es2020"], logLevel: "warning", absWorkingDir: root };

if (process.argv.includes("--tests")) {
  rmSync(join(root, "build"), { recursive: true, force: true });
  const entries = readdirSync(join(root, "test")).filter((f) => f.endsWith(".test.ts"));
  await build({
    ...common,
    entryPoints: entries.map((f) => join("test", f)),
    outdir: "build/test",
    platform: "node",
    format: "cjs",
    outExtension: { ".js": ".cjs" },
    sourcemap: "inline",
  });
} else {
  rmSync(join(root, "dist"), { recursive: true, force: true });
  await Promise.all([
    build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/index.mjs", format: "esm", platform: "neutral" }),
    build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/index.cjs", format: "cjs", platform: "neutral" }),
    build({
      ...common,
      entryPoints: ["src/browser.ts"],
      outfile: "dist/tidings.min.js",
      format: "iife",
      globalName: "Tidings",
      platform: "browser",
      minify: true,
    }),
    build({
      ...common,
      entryPoints: ["src/simulate-cli.ts"],
      outfile: "dist/simulate.js",
      format: "cjs",
      platform: "node",
      banner: { js: "#!/usr/bin/env node" },
    }),
  ]);
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.types.json"], {
    cwd: root,
    stdio: "inherit",
  });
}
