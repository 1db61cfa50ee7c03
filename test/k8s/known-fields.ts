/**
 * The schema validators let unknown fields through (a misspelt `readinesProbe` would pass and be dropped
 * by the API server). This check type-checks each manifest as an object literal against the
 * kubernetes-models interfaces, which come from the same OpenAPI document: TypeScript's excess-property
 * check then names every field the schema does not have.
 */
import { fileURLToPath } from "node:url";
import ts from "typescript";

const INTERFACES: Record<string, [module: string, name: string]> = {
  "v1/Namespace": ["kubernetes-models/v1/Namespace", "INamespace"],
  "v1/ConfigMap": ["kubernetes-models/v1/ConfigMap", "IConfigMap"],
  "v1/Secret": ["kubernetes-models/v1/Secret", "ISecret"],
  "v1/Service": ["kubernetes-models/v1/Service", "IService"],
  "apps/v1/Deployment": ["kubernetes-models/apps/v1/Deployment", "IDeployment"],
  "apps/v1/StatefulSet": ["kubernetes-models/apps/v1/StatefulSet", "IStatefulSet"],
  "policy/v1/PodDisruptionBudget": ["kubernetes-models/policy/v1/PodDisruptionBudget", "IPodDisruptionBudget"],
  "networking.k8s.io/v1/NetworkPolicy": ["kubernetes-models/networking.k8s.io/v1/NetworkPolicy", "INetworkPolicy"],
  // prometheus-operator's CRDs, from @kubernetes-models/prometheus-operator (generated from the CRDs' OpenAPI schemas).
  "monitoring.coreos.com/v1/PrometheusRule": ["@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule", "IPrometheusRule"],
  "monitoring.coreos.com/v1/PodMonitor": ["@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor", "IPodMonitor"],
};

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
