/**
 * `node dist/simulate.js [--decisions] FILE`: the scenario runner, printing exactly what
 * `tidings simulate [--decisions] FILE` prints (the same lines, the same exit status, the same
 * error message for a malformed scenario).
 *
 * `node dist/simulate.js --batch` reads JSON Lines `{"label", "text", "decisions"}` on standard
 * input and answers each with one line `{"code", "stdout", "stderr"}`, so a test can run
 * thousands of scenarios through one process.
 */

import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseJson } from "./core/json";
import { runScenarioText } from "./core/simulation";

const STRERROR: Record<string, string> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  EISDIR: "Is a directory",
  ENOTDIR: "Not a directory",
  ELOOP: "Too many levels of symbolic links",
  ENAMETOOLONG: "File name too long",
};

/** A path as Python's `pathlib.Path` prints it (`a//b/./c/` -> `a/b/c`). */
export function pathLabel(path: string): string {
  const absolute = path.startsWith("/");
  const lead = absolute && path.startsWith("//") && !path.startsWith("///") ? "//" : absolute ? "/" : "";
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  const body = parts.join("/");
  return lead + body || (absolute ? lead : ".");
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function decode(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new SyntaxError("str is not valid UTF-8");
  }
}

function runFile(file: string, decisions: boolean): number {
  const label = pathLabel(file);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (exc) {
    const code = (exc as { code?: string }).code ?? "";
    process.stderr.write(`${label}: cannot read: ${STRERROR[code] ?? String(exc)}\n`);
    return 2;
  }
  const result = runScenarioText(label, "", decisions, () => parseJson(decode(bytes)));
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  return result.code;
}

function runBatch(): void {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on("line", (line) => {
    if (!line.trim()) return;
    const job = JSON.parse(line) as { label: string; text: string; decisions?: boolean };
    let answer: string;
    try {
      answer = JSON.stringify(runScenarioText(job.label, job.text, Boolean(job.decisions), parseJson));
    } catch (exc) {
      answer = JSON.stringify({ code: 1, stdout: "", stderr: `crash: ${(exc as Error).stack ?? String(exc)}\n` });
    }
    process.stdout.write(answer + "\n");
  });
}

function main(argv: string[]): void {
  if (argv.includes("--batch")) {
    runBatch();
    return;
  }
  const decisions = argv.includes("--decisions");
  const files = argv.filter((a) => a !== "--decisions");
  if (files.length !== 1) {
    process.stderr.write("usage: node simulate.js [--decisions] SCENARIO.json\n");
    process.exitCode = 2;
    return;
  }
  process.exitCode = runFile(files[0] as string, decisions);
}

main(process.argv.slice(2));
