/**
 * A container's environment and command line, resolved as the kubelet and the runtime do:
 * - the kubelet (pkg/kubelet/kubelet_pods.go makeEnvironmentVariables): `envFrom` first, then `env` in
 *   order, each `value` `$(VAR)`-expanded against the variables declared so far and the Service links;
 *   sources resolved from Secrets, ConfigMaps and the pod's fields; then the Service links not declared;
 * - the runtime (containerd's CRI: oci.WithEnv): HOSTNAME, then the image's ENV, then the container's
 *   variables, a later one replacing an earlier one of the same name in place;
 * - `command`/`args` expanded against the kubelet's variables (kuberuntime ExpandContainerCommandAndArgs),
 *   never against the image's ENV.
 */
import { EnvSourceError } from "./errors.ts";
import type { ConfigMap, Container, KeySelector, Secret } from "./k8s.ts";

/** Kubernetes' `$(VAR)` expansion: third_party/forked/golang/expansion/expand.go, byte for byte. */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = "";
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== "$" || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const rest = input.slice(cursor + 1);
    let read: string;
    let advance = 1;
    if (rest[0] === "$") {
      read = "$"; // `$$` escapes: `$$(VAR)` stays `$(VAR)`
    } else if (rest[0] === "(") {
      const close = rest.indexOf(")", 1);
      if (close === -1) {
        read = "$("; // an unterminated reference is kept as written
      } else {
        const name = rest.slice(1, close);
        read = lookup(name) ?? `$(${name})`; // an unknown variable is kept as written
        advance = close + 1;
      }
    } else {
      read = `$${rest[0]}`;
    }
    out += read;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** What env sources read: the pod's own fields and the namespace's ConfigMaps and Secrets. */
export interface EnvContext {
  pod: { name: string; namespace: string; ip: string; labels: Record<string, string>; annotations: Record<string, string>; nodeName: string; hostIp: string };
  configMap(name: string): ConfigMap | undefined;
  secret(name: string): Secret | undefined;
  /** Service links (pods/service-env.ts); empty when the pod sets enableServiceLinks: false. */
  serviceEnv?: ReadonlyMap<string, string>;
}

/** A Secret's values: `data` is base64; `stringData` is merged over it by the API server. */
export function secretData(secret: Secret): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, "base64");
  for (const [k, v] of Object.entries(secret.stringData ?? {})) out[k] = Buffer.from(v, "utf8");
  return out;
}

/** A ConfigMap's values: `data` as text, `binaryData` base64. */
export function configMapData(cm: ConfigMap): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(cm.data ?? {})) out[k] = Buffer.from(v, "utf8");
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out[k] = Buffer.from(v, "base64");
  return out;
}

/** The values of a ConfigMap or a Secret, each decoded as its kind stores it. */
export const objectData = (obj: ConfigMap | Secret): Record<string, Buffer> => (obj.kind === "Secret" ? secretData(obj) : configMapData(obj));

function fieldValue(path: string, ctx: EnvContext): string {
  const { pod } = ctx;
  const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (label) return (label[1] === "labels" ? pod.labels : pod.annotations)[label[2]!] ?? "";
  switch (path) {
    case "metadata.name":
      return pod.name;
    case "metadata.namespace":
      return pod.namespace;
    case "status.podIP":
    case "status.podIPs":
      return pod.ip;
    case "spec.nodeName":
      return pod.nodeName;
    case "status.hostIP":
    case "status.hostIPs":
      return pod.hostIp;
    case "spec.serviceAccountName":
      return "default";
    default:
      throw new EnvSourceError(`fieldRef ${path} is not supported by the pod runner`);
  }
}

/** The values of the Secret or ConfigMap a reference names (the API refuses a reference without a name, so "" finds none). */
function source(kind: "Secret" | "ConfigMap", name: string | undefined, ctx: EnvContext): Record<string, Buffer> | undefined {
  const obj = kind === "Secret" ? ctx.secret(name ?? "") : ctx.configMap(name ?? "");
  return obj && objectData(obj);
}

function keyRef(kind: "Secret" | "ConfigMap", sel: KeySelector, ctx: EnvContext): string | undefined {
  const data = source(kind, sel.name, ctx);
  const value = data?.[sel.key];
  if (value !== undefined) return value.toString("utf8");
  if (sel.optional) return undefined;
  // The kubelet's wording (CreateContainerConfigError), so the message reads as a cluster's would.
  throw new EnvSourceError(data ? `couldn't find key ${sel.key} in ${kind} ${ctx.pod.namespace}/${sel.name ?? ""}` : `${kind.toLowerCase()} "${sel.name ?? ""}" not found`);
}

/** The kubelet's variables for a container, in the order they are declared. */
export function kubeletEnv(container: Container, ctx: EnvContext): Map<string, string> {
  const env = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const kind = from.secretRef ? "Secret" : "ConfigMap";
    const data = source(kind, ref.name, ctx);
    if (!data) {
      if (ref.optional) continue;
      throw new EnvSourceError(`${kind.toLowerCase()} "${ref.name ?? ""}" not found`);
    }
    for (const [k, v] of Object.entries(data)) env.set(`${from.prefix ?? ""}${k}`, v.toString("utf8"));
  }
  for (const e of container.env ?? []) {
    let value: string | undefined = e.value ?? "";
    if (e.value) value = expand(e.value, (n) => env.get(n) ?? ctx.serviceEnv?.get(n));
    else if (e.valueFrom?.fieldRef) value = fieldValue(e.valueFrom.fieldRef.fieldPath, ctx);
    else if (e.valueFrom?.secretKeyRef) value = keyRef("Secret", e.valueFrom.secretKeyRef, ctx);
    else if (e.valueFrom?.configMapKeyRef) value = keyRef("ConfigMap", e.valueFrom.configMapKeyRef, ctx);
    else if (e.valueFrom?.resourceFieldRef) throw new EnvSourceError(`env ${e.name}: resourceFieldRef is not supported by the pod runner`);
    // An optional source that is missing leaves the variable out, as the kubelet does.
    if (value !== undefined) env.set(e.name, value);
  }
  // Service variables come last and never replace a declared one.
  for (const [k, v] of ctx.serviceEnv ?? []) if (!env.has(k)) env.set(k, v);
  return env;
}

/** The process environment the runtime builds: HOSTNAME, the image's ENV, then the kubelet's variables. */
export function runtimeEnv(hostname: string, imageEnv: Readonly<Record<string, string>>, kubelet: ReadonlyMap<string, string>): Array<[string, string]> {
  const env = new Map<string, string>([["HOSTNAME", hostname]]);
  if (!("PATH" in imageEnv)) env.set("PATH", DEFAULT_PATH); // containerd's oci.WithDefaultPathEnv
  for (const [k, v] of Object.entries(imageEnv)) env.set(k, v);
  for (const [k, v] of kubelet) env.set(k, v);
  return [...env];
}

/** The PATH Debian- and Alpine-based images set, and containerd's default when an image sets none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The argv the runtime starts: `command` replaces the image's ENTRYPOINT and `args` its CMD; a command
 * given without args drops the image's CMD (the Kubernetes doc "Define a Command and Arguments for a
 * Container", "Notes"). Returns which image parts were relied on, for the report.
 */
export function commandLine(container: Container, image: { entrypoint?: string[]; cmd?: string[] }, kubelet: ReadonlyMap<string, string>): { argv: string[]; relied: string[] } {
  const x = (list: string[]) => list.map((s) => expand(s, (n) => kubelet.get(n)));
  const relied: string[] = [];
  let entry: string[];
  let args: string[];
  if (container.command) {
    entry = x(container.command);
    args = container.args ? x(container.args) : [];
  } else {
    entry = image.entrypoint ?? [];
    if (image.entrypoint) relied.push(`ENTRYPOINT ${JSON.stringify(image.entrypoint)}`);
    if (container.args) args = x(container.args);
    else {
      args = image.cmd ?? [];
      if (image.cmd) relied.push(`CMD ${JSON.stringify(image.cmd)}`);
    }
  }
  return { argv: [...entry, ...args], relied };
}
