// Builds the package with esbuild (and the type declarations with tsc):
//   dist/index.mjs, dist/index.cjs   the SDK as ES module and CommonJS, no dependencies
//   dist/tidings.min.js              the browser bundle (global `Tidings`): esbuild, then terser,
//                                    internal property names shortened (scripts/mangle.mjs)
//   dist/simulate.js                 the scenario runner for Node
//   dist/types/                      TypeScript declarations
// With --tests it builds test/*.test.ts into build/test/ for `node --test`, and the client tests
// once more against the browser bundle itself (build/test/client.min.test.cjs loads
// build/tidings.min.js), so the shipped minified file passes the same tests as the source.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { minify } from "terser";
import { manglePattern } from "./mangle.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const common = { bundle: true, target: ["es2020"], logLevel: "warning", absWorkingDir: root };

/** The browser bundle: esbuild (minified, safe property names shortened), then terser. */
async function browserBundle(outfile) {
  const bundled = await build({
    ...common,
    entryPoints: ["src/browser.ts"],
    write: false,
    format: "iife",
    globalName: "Tidings",
    platform: "browser",
    minify: true,
    mangleProps: manglePattern("src/browser.ts"),
  });
  const result = await minify(bundled.outputFiles[0].text, {
    ecma: 2020,
    compress: { passes: 2 },
    mangle: true,
    format: { ecma: 2020 },
  });
  mkdirSync(dirname(join(root, outfile)), { recursive: true });
  writeFileSync(join(root, outfile), result.code);
}

/** Resolves the client tests' `../src/index` to the namespace of build/tidings.min.js. */
const againstBundle = {
  name: "against-bundle",
  setup(b) {
    b.onResolve({ filter: /\/src\/index$/ }, () => ({ path: "bundle", namespace: "against-bundle" }));
    b.onLoad({ filter: /.*/, namespace: "against-bundle" }, () => ({
      contents:
        'const { readFileSync } = require("node:fs");\n' +
        'const { join } = require("node:path");\n' +
        'const code = readFileSync(join(__dirname, "..", "tidings.min.js"), "utf8");\n' +
        'module.exports = new Function(code + "\\nreturn Tidings;")();\n',
      loader: "js",
    }));
  },
};

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
  await browserBundle("build/tidings.min.js");
  await build({
    ...common,
    entryPoints: { "client.min.test": join("test", "client.test.ts") },
    outdir: "build/test",
    platform: "node",
    format: "cjs",
    outExtension: { ".js": ".cjs" },
    plugins: [againstBundle],
  });
} else {
  rmSync(join(root, "dist"), { recursive: true, force: true });
  await Promise.all([
    build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/index.mjs", format: "esm", platform: "neutral" }),
    build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/index.cjs", format: "cjs", platform: "neutral" }),
    browserBundle("dist/tidings.min.js"),
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
