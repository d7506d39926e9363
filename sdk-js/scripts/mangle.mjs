// Which property names the browser bundle may shorten (esbuild's `mangleProps`), found with the
// TypeScript type checker so that nothing an app, the stored state or the wire can see changes:
//
// A name is shortened only when EVERY place it is written as a property in `src/` (an access
// `x.name`, a declaration, an object-literal key, a destructuring key) resolves to a member of
// one of our classes, and that class is internal or the member is `private`/`protected`.
// So a name is kept as it is when it also appears
//   - on an interface, a type literal or an object literal (options, stored rows, JSON bodies),
//   - on a public class (exported from src/index.ts) as a public member,
//   - on anything the checker cannot resolve (an `any`) or that the platform declares (`x.get`),
//   - among the names the language calls by itself (`toJSON`, `then`, `next`, `toString`, ...)
//     or on a platform class one of ours extends (`Error`),
//   - as a quoted key (`obj["key"]`, `"key" in obj`), or as a member of a type indexed with a
//     computed key (`obj[key]`),
//   - as an enum member.
// esbuild renames a name the same way everywhere in one bundle, so the bundle stays consistent;
// `npm test` also runs the client tests against a build shortened the same way.
import ts from "typescript";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const IMPLICIT = [
  "toJSON", "toString", "valueOf", "then", "catch", "finally", "next", "return", "throw", "done",
  "value", "constructor", "prototype", "length", "name", "message", "stack", "cause",
  "handleEvent", "default", "__proto__",
];

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function isSrc(file) {
  return resolve(file.fileName).startsWith(join(root, "src") + "/");
}

function isPrivate(decl) {
  const flags = ts.getCombinedModifierFlags(decl);
  return (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0;
}

/** The property names safe to shorten in a bundle of `entry` (sorted). */
export function mangleableProps(entry = "src/browser.ts") {
  const program = ts.createProgram([join(root, entry)], {
    target: ts.ScriptTarget.ES2020,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    skipLibCheck: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const sources = program.getSourceFiles();

  // Classes an app can reach: the runtime exports of the package's entry.
  const publicClasses = new Set();
  const index = program.getSourceFile(join(root, "src/index.ts"));
  for (const sym of checker.getExportsOfModule(checker.getSymbolAtLocation(index))) {
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    for (const d of target.declarations ?? []) if (ts.isClassDeclaration(d)) publicClasses.add(d);
  }

  // ...and the classes derived from them (an app may catch an `InvalidCampaign` as a `TidingsError`).
  const derivesFromPublic = (cls) => {
    const type = checker.getTypeAtLocation(cls);
    for (const base of type.getBaseTypes?.() ?? []) {
      for (const d of base.symbol?.declarations ?? []) {
        if (publicClasses.has(d) || ((ts.isClassDeclaration(d) || ts.isClassExpression(d)) && derivesFromPublic(d))) return true;
      }
    }
    return false;
  };
  for (const file of sources) {
    if (!isSrc(file)) continue;
    for (const stmt of file.statements) if (ts.isClassDeclaration(stmt) && derivesFromPublic(stmt)) publicClasses.add(stmt);
  }

  const reservedSet = new Set();
  const why = new Map();
  const reserved = {
    add(name, reason = "") {
      reservedSet.add(name);
      if (process.env.MANGLE_WHY && !why.has(name)) why.set(name, reason);
    },
    has: (name) => reservedSet.has(name),
  };
  const candidates = new Set();

  // Names the language or the platform call by themselves (JSON.stringify, await, for-of,
  // string conversion, errors), and every member of a platform class one of ours extends.
  for (const name of IMPLICIT) reserved.add(name, "implicit");
  for (const file of sources) {
    if (!isSrc(file)) continue;
    const visit = (node) => {
      if (ts.isClassLike(node)) {
        for (const base of checker.getTypeAtLocation(node).getBaseTypes?.() ?? []) {
          if ((base.symbol?.declarations ?? []).some((d) => !isSrc(d.getSourceFile()))) {
            for (const prop of base.getApparentProperties()) reserved.add(prop.name, "platform base");
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }

  const goodDeclaration = (decl) => {
    if (!isSrc(decl.getSourceFile())) return false;
    const isMember =
      ts.isPropertyDeclaration(decl) ||
      ts.isMethodDeclaration(decl) ||
      ts.isGetAccessor(decl) ||
      ts.isSetAccessor(decl) ||
      (ts.isParameter(decl) && ts.isConstructorDeclaration(decl.parent) && ts.getCombinedModifierFlags(decl) !== 0);
    if (!isMember) return false;
    const cls = ts.isParameter(decl) ? decl.parent.parent : decl.parent;
    if (!ts.isClassDeclaration(cls) && !ts.isClassExpression(cls)) return false;
    return !publicClasses.has(cls) || isPrivate(decl);
  };

  const judge = (nameNode) => {
    const name = nameNode.text;
    const sym = checker.getSymbolAtLocation(nameNode);
    const decls = sym?.declarations ?? [];
    if (decls.length && decls.every(goodDeclaration)) candidates.add(name);
    else reserved.add(name, `${nameNode.getSourceFile().fileName}:${nameNode.getStart()} ${decls.map((d) => ts.SyntaxKind[d.kind] + "@" + d.getSourceFile().fileName.split("/").pop()).join(",")}`);
  };

  for (const file of sources) {
    if (!isSrc(file)) continue;
    const visit = (node) => {
      if (ts.isElementAccessExpression(node)) {
        // `obj["key"]` keeps "key"; `obj[key]` keeps every member of obj's type.
        const arg = node.argumentExpression;
        if (ts.isStringLiteralLike(arg)) reserved.add(arg.text, "literal index");
        else if (!ts.isNumericLiteral(arg)) {
          for (const prop of checker.getTypeAtLocation(node.expression).getApparentProperties?.() ?? []) {
            reserved.add(prop.name, "computed index");
          }
        }
      } else if (
        ts.isBinaryExpression(node) &&
        node.operatorToken.kind === ts.SyntaxKind.InKeyword &&
        ts.isStringLiteralLike(node.left)
      ) {
        reserved.add(node.left.text, "in");
      } else if (ts.isEnumMember(node) && ts.isIdentifier(node.name)) {
        reserved.add(node.name.text);
      } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.name)) {
        judge(node.name);
      } else if (
        (ts.isPropertyDeclaration(node) ||
          ts.isMethodDeclaration(node) ||
          ts.isGetAccessor(node) ||
          ts.isSetAccessor(node) ||
          ts.isPropertySignature(node) ||
          ts.isMethodSignature(node) ||
          ts.isPropertyAssignment(node)) &&
        node.name &&
        ts.isIdentifier(node.name)
      ) {
        judge(node.name);
      } else if (ts.isShorthandPropertyAssignment(node)) {
        reserved.add(node.name.text);
      } else if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent)) {
        const key = node.propertyName ?? node.name;
        if (ts.isIdentifier(key)) reserved.add(key.text);
      } else if (ts.isParameter(node) && ts.isConstructorDeclaration(node.parent) && ts.getCombinedModifierFlags(node) !== 0) {
        if (ts.isIdentifier(node.name)) judge(node.name);
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  if (process.env.MANGLE_WHY) for (const n of process.env.MANGLE_WHY.split(",")) console.error(n, candidates.has(n), why.get(n));
  return [...candidates].filter((n) => !reserved.has(n) && n.length > 1).sort();
}

/** The `mangleProps` pattern for esbuild. */
export function manglePattern(entry) {
  const names = mangleableProps(entry);
  return new RegExp(`^(?:${names.join("|")})$`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const names = mangleableProps(process.argv[2]);
  console.log(names.join("\n"));
  console.error(`${names.length} names`);
}
