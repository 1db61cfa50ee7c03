/**
 * Service environment variables, as the kubelet gives every container of a pod with enableServiceLinks
 * (the default): pkg/kubelet/envvars/envvars.go FromServices, for each Service of the pod's namespace with
 * a cluster IP: `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT`, `<NAME>_SERVICE_PORT_<PORT NAME>` and the
 * Docker link variables `<NAME>_PORT`, `<NAME>_PORT_<port>_TCP{,_PROTO,_PORT,_ADDR}`. The cluster IP is
 * the one the pod's /etc/hosts gives the Service's name (the network assigns it). The API server's own
 * `kubernetes` Service does not exist here, so KUBERNETES_* are absent.
 */
import type { Service } from "./k8s.ts";

/** makeEnvVariableName: upper case, `-` → `_`. */
const envName = (s: string) => s.toUpperCase().replace(/-/g, "_");

/** The address an /etc/hosts text gives a name. */
export function hostsLookup(hosts: string, name: string): string | undefined {
  for (const line of hosts.split("\n")) {
    const [addr, ...names] = line.replace(/#.*/, "").trim().split(/\s+/);
    if (addr && names.includes(name)) return addr;
  }
  return undefined;
}

export function serviceEnv(services: readonly Service[], namespace: string, hosts: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const svc of services) {
    if ((svc.metadata.namespace ?? "default") !== namespace) continue;
    const ip = hostsLookup(hosts, `${svc.metadata.name}.${namespace}.svc.cluster.local`);
    const ports = svc.spec?.ports ?? [];
    if (!ip || ip === "None" || ports.length === 0) continue;
    const prefix = envName(svc.metadata.name);
    env.set(`${prefix}_SERVICE_HOST`, ip);
    env.set(`${prefix}_SERVICE_PORT`, String(ports[0]!.port));
    for (const p of ports) if (p.name) env.set(`${prefix}_SERVICE_PORT_${envName(p.name)}`, String(p.port));
    ports.forEach((p, i) => {
      const proto = (p.protocol ?? "TCP").toLowerCase();
      const url = `${proto}://${ip}:${p.port}`;
      if (i === 0) env.set(`${prefix}_PORT`, url); // Docker special-cases the first port
      const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
      env.set(pp, url);
      env.set(`${pp}_PROTO`, proto);
      env.set(`${pp}_PORT`, String(p.port));
      env.set(`${pp}_ADDR`, ip);
    });
  }
  return env;
}
