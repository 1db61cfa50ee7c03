/**
 * The schema validators let unknown fields through (a misspelt `readinesProbe` would pass and be dropped
 * by the API server). This check type-checks each manifest as an object literal against the
 * kubernetes-models interfaces, which come from the same OpenAPI document: TypeScript's excess-property
 * check then names every field the schema does not have.
 */
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { KUBE_MODEL_SOURCES } from "../../lib/kubernetes-models.ts";

const INTERFACES: Readonly<Record<string, readonly [module: string, name: string]>> = KUBE_MODEL_SOURCES;

const VIRTUAL = fileURLToPath(new URL("./__manifests__.ts", import.meta.url));

/** Problems per manifest label: unknown fields and wrong shapes, as TypeScript reports them. */
export function unknownFieldProblems(manifests: ReadonlyArray<{ file: string; object: Record<string, unknown> }>): string[] {
  const lines: string[] = [];
  const problems: string[] = [];
  manifests.forEach((m, i) => {
    const key = `${String(m.object.apiVersion)}/${String(m.object.kind)}`;
    const iface = INTERFACES[key];
    if (!iface) {
      problems.push(`${m.file}: no interface for ${key}`);
      return;
    }
    lines.push(`import type { ${iface[1]} as T${i} } from "${iface[0]}";`, `export const m${i}: T${i} = ${JSON.stringify(m.object)};`);
  });
  const source = lines.join("\n");
  const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: [] };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (name === VIRTUAL ? ts.createSourceFile(name, source, lang) : read(name, lang, ...rest));
  const exists = host.fileExists.bind(host);
  host.fileExists = (name) => name === VIRTUAL || exists(name);
  const program = ts.createProgram([VIRTUAL], options, host);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    const index = Number(/^export const m(\d+)/.exec(source.split("\n")[line] ?? "")?.[1] ?? -1);
    problems.push(`${manifests[index]?.file ?? "?"}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
  }
  return problems;
}
