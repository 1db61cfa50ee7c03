/**
 * docs/errors.md's table: every error class of the project's commands, read from the source files'
 * declarations (the TypeScript parser, not a regex), so a new class or code appears on the page by
 * `npm run docs` and a stale page fails the docs test. The same reading refuses what would make the page
 * lie: two classes of one name, two classes with one code, and a class with a `code` that is not a
 * PoolingError (a CLI would print its stack as if it were a bug).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { PoolingError } from "../errors.ts";

/** Where the errors a user can meet are declared. app-probe/ ships alone and answers HTTP errors of its own (app-probe/src/errors.ts). */
export const ERROR_SOURCE_DIRS = ["lib", "infra", "local", "pods", "cluster", "toolchain", "scripts", "bench", "test/faults"] as const;

export interface DeclaredError {
  name: string;
  base: string;
  file: string;
  abstract: boolean;
  /** One code (`readonly code = "..."`), or several (a `readonly code` constructor parameter typed as a union of strings). */
  codes?: string[];
  doc: string;
}

/** The error page cannot be made as the classes stand; the message names the classes to change. */
export class ErrorCatalogError extends PoolingError {
  readonly code = "POOLING_ERROR_CATALOG";
}

/** Every `class X extends Y` declared in `text` with its `code = "..."` and its doc comment. */
export function declaredClasses(file: string, text: string): DeclaredError[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: DeclaredError[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isClassDeclaration(node) && node.name) {
      const base = node.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression.getText(source);
      if (base !== undefined) {
        const codeMember = node.members.find((m): m is ts.PropertyDeclaration => ts.isPropertyDeclaration(m) && m.name.getText(source) === "code" && m.initializer !== undefined);
        const codeParam = node.members
          .filter(ts.isConstructorDeclaration)
          .flatMap((c) => c.parameters)
          .find((p) => p.name.getText(source) === "code" && p.modifiers?.some((m) => m.kind === ts.SyntaxKind.ReadonlyKeyword));
        const literals = (t: ts.TypeNode | undefined): string[] =>
          t === undefined ? [] : ts.isUnionTypeNode(t) ? t.types.flatMap(literals) : ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal) ? [t.literal.text] : [];
        const codes = codeMember?.initializer && ts.isStringLiteral(codeMember.initializer) ? [codeMember.initializer.text] : literals(codeParam?.type);
        const doc = ts
          .getJSDocCommentsAndTags(node)
          .map((d) => (typeof d.comment === "string" ? d.comment : ""))
          .join(" ")
          .replace(/\s+/g, " ")
          .trim();
        out.push({
          name: node.name.text,
          base,
          file,
          abstract: node.modifiers?.some((m) => m.kind === ts.SyntaxKind.AbstractKeyword) ?? false,
          ...(codes.length === 0 ? {} : { codes }),
          doc,
        });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The project's error source files (tests excluded) as [path relative to the project, text]. */
export function errorSources(projectDir: string): Array<[string, string]> {
  const files: Array<[string, string]> = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory() && e.name !== "node_modules" && e.name !== "dist") walk(path);
      else if (e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) files.push([relative(projectDir, path), readFileSync(path, "utf8")]);
    }
  };
  for (const d of ERROR_SOURCE_DIRS) walk(join(projectDir, d));
  return files.sort(([a], [b]) => a.localeCompare(b));
}

export interface CatalogEntry extends DeclaredError {
  code: string;
  exit: 1 | 2;
}

/** The concrete PoolingError classes with their code and exit status; throws on the conflicts the file's comment names. */
export function errorCatalog(sources: ReadonlyArray<readonly [string, string]>): CatalogEntry[] {
  const all = sources.flatMap(([file, text]) => declaredClasses(file, text));
  const byName = new Map<string, DeclaredError>();
  const problems: string[] = [];
  for (const c of all) {
    const other = byName.get(c.name);
    if (other) problems.push(`two classes are named ${c.name} (${other.file}, ${c.file}): merge them or rename one`);
    byName.set(c.name, c);
  }
  const ancestors = (c: DeclaredError): string[] => {
    const chain: string[] = [];
    for (let b: string | undefined = c.base; b !== undefined && !chain.includes(b); b = byName.get(b)?.base) chain.push(b);
    return chain;
  };
  const codesOf = (c: DeclaredError): string[] | undefined => c.codes ?? (byName.has(c.base) ? codesOf(byName.get(c.base)!) : undefined);
  const entries: CatalogEntry[] = [];
  for (const c of all) {
    const chain = ancestors(c);
    const codes = codesOf(c);
    // A ConfigError as the Pulumi engine must get it (infra/config/pulumi.ts): a RunError carrying the
    // ConfigError and its code, listed under ConfigError.
    if (c.base === "pulumi.RunError") continue;
    if (!chain.includes("PoolingError")) {
      if (c.codes !== undefined) problems.push(`${c.name} (${c.file}) has a code but does not extend PoolingError: CLIs would tell it as a bug`);
      continue;
    }
    if (c.abstract) continue;
    if (c.doc === "") problems.push(`${c.name} (${c.file}) has no doc comment: say what the failure means, for docs/errors.md`);
    if (codes === undefined) {
      problems.push(`${c.name} (${c.file}) has no \`readonly code = "..."\``);
      continue;
    }
    for (const code of codes) entries.push({ ...c, code, exit: chain.includes("InputError") ? 2 : 1 });
  }
  const byCode = new Map<string, CatalogEntry>();
  for (const e of entries) {
    const other = byCode.get(e.code);
    if (other) problems.push(`${other.name} and ${e.name} share the code ${e.code}: give each failure its own`);
    byCode.set(e.code, e);
  }
  if (problems.length > 0) throw new ErrorCatalogError(`the error classes cannot be listed:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return entries.sort((a, b) => a.code.localeCompare(b.code));
}

const cell = (s: string) => s.replace(/\|/g, "\\|");

/** The Markdown table docs/errors.md holds between its markers. */
export function errorsMarkdown(sources: ReadonlyArray<readonly [string, string]>): string {
  const rows = errorCatalog(sources).map((e) => `| \`${e.code}\` | ${e.exit} | \`${e.name}\` (${e.file}) | ${cell(e.doc === "" ? "—" : e.doc)} |`);
  return ["| code | exit | class | what it means |", "| --- | --- | --- | --- |", ...rows].join("\n");
}
