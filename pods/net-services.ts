/**
 * Services as kube-proxy would program them, as pure functions: the Service objects (parsed YAML) and
 * the pods in, the text of a pod's `ip` nft table out.
 */
import type { Service } from "./k8s.ts";
import type { PodEndpoint, SliceEndpoint } from "./network-api.ts";
import { DNS_LABEL, SERVICE_TABLE, chain, comment, compareIp, isPort, matchesMap, namespaceOf, resolvePort, type TableText } from "./net-rules.ts";

export interface ServicePort {
  name?: string;
  port: number;
  /** A number, or the name of a container port (looked up in each endpoint pod's `ports`). */
  targetPort: number | string;
}

/** A ClusterIP Service as the network keeps it; `vip` is assigned by the network. */
export interface ClusterIpService {
  namespace: string;
  name: string;
  /** Absent: a Service without selector, which gets no endpoints here (no Endpoints objects exist). */
  selector?: Record<string, string>;
  ports: ServicePort[];
  vip: string;
  /**
   * The endpoints as an EndpointSlice controller published them (ready ones only, each port by the
   * Service port's name); absent, the network matches the selector against its own pods.
   */
  endpoints?: SliceEndpoint[];
}

export interface ParsedService {
  namespace: string;
  name: string;
  selector?: Record<string, string>;
  ports: ServicePort[];
  /** Headless and ExternalName Services get no VIP. */
  virtual: boolean;
  notes: string[];
}

export function parseService(obj: Service): ParsedService {
  const spec = obj.spec ?? {};
  const id = `Service ${namespaceOf(obj)}/${obj.metadata.name}`;
  const notes: string[] = [];
  let virtual = true;
  if (!DNS_LABEL.test(obj.metadata.name) || !DNS_LABEL.test(namespaceOf(obj))) {
    notes.push(`${JSON.stringify(id)}: the name and namespace must be RFC 1123 labels; it gets no address`);
    virtual = false;
  } else if (spec.type === "ExternalName") {
    notes.push(`${id}: type ExternalName is not supported by the pod runner; it gets no address`);
    virtual = false;
  } else if (spec.clusterIP === "None") {
    notes.push(`${id}: headless Services are not supported by the pod runner; it gets no address and no hosts entry`);
    virtual = false;
  } else if (spec.type !== undefined && spec.type !== "ClusterIP") {
    notes.push(`${id}: type ${spec.type} is run as ClusterIP only (no node ports, no load balancer)`);
  }
  const ports: ServicePort[] = [];
  for (const p of spec.ports ?? []) {
    const protocol = p.protocol ?? "TCP";
    if (protocol !== "TCP") {
      notes.push(`${id}: port ${p.port}/${protocol} ignored, only TCP Service ports are supported`);
      continue;
    }
    const target = p.targetPort ?? p.port;
    if (!isPort(p.port) || (typeof target === "number" && !isPort(target))) {
      notes.push(`${id}: port ${JSON.stringify(p.port)} → ${JSON.stringify(target)} ignored, not a port number`);
      continue;
    }
    ports.push({ ...(p.name !== undefined ? { name: p.name } : {}), port: p.port, targetPort: typeof target === "string" && /^\d+$/.test(target) ? Number(target) : target });
  }
  const selector = spec.selector as Record<string, string> | undefined;
  return { namespace: namespaceOf(obj), name: obj.metadata.name, ...(selector ? { selector } : {}), ports, virtual, notes };
}

/** Endpoints of one Service port: ready, not terminating, selected pods of its namespace whose target port resolves. */
export function serviceEndpoints(svc: Pick<ClusterIpService, "namespace" | "selector" | "endpoints">, port: ServicePort, pods: PodEndpoint[]): Array<{ ip: string; port: number }> {
  if (svc.endpoints) {
    const out = svc.endpoints.flatMap((ep) => (ep.ports[port.name ?? ""] === undefined ? [] : [{ ip: ep.ip, port: ep.ports[port.name ?? ""]! }]));
    return out.sort((a, b) => compareIp(a.ip, b.ip) || a.port - b.port);
  }
  const selector = svc.selector;
  if (!selector || Object.keys(selector).length === 0) return [];
  const out: Array<{ ip: string; port: number }> = [];
  for (const pod of pods) {
    if (pod.namespace !== svc.namespace || !pod.ready || pod.terminating || !matchesMap(selector, pod.labels)) continue;
    const target = resolvePort(pod, port.targetPort);
    if (target !== undefined) out.push({ ip: pod.ip, port: target });
  }
  return out.sort((a, b) => compareIp(a.ip, b.ip) || a.port - b.port);
}

/** The DNAT part shared by a pod's table and the node's: VIP:port dispatch, a chain per port and endpoint. */
function serviceNat(services: ClusterIpService[], pods: PodEndpoint[]): { natOutput: string[]; chains: string[]; bodies: string[] } {
  const dispatch: string[] = [];
  const chains: string[] = [];
  const bodies: string[] = [];
  for (const svc of [...services].sort((a, b) => compareIp(a.vip, b.vip))) {
    const octet = svc.vip.split(".")[3];
    for (const port of svc.ports) {
      const eps = serviceEndpoints(svc, port, pods);
      if (eps.length === 0) continue;
      const svcChain = `svc_${octet}_${port.port}`;
      dispatch.push(`${svc.vip} . ${port.port} : goto ${svcChain}`);
      const epChains = eps.map((_, i) => `ep_${octet}_${port.port}_${i}`);
      const pick = epChains.length === 1 ? `goto ${epChains[0]}` : `numgen random mod ${epChains.length} vmap { ${epChains.map((c, i) => `${i} : goto ${c}`).join(", ")} }`;
      chains.push(svcChain, ...epChains);
      bodies.push(chain(svcChain, [`${pick} ${comment(`${svc.namespace}/${svc.name}:${port.port}`)}`]));
      eps.forEach((ep, i) => bodies.push(chain(epChains[i] as string, [`meta l4proto tcp dnat to ${ep.ip}:${ep.port}`])));
    }
  }
  const natOutput = ["type nat hook output priority -100; policy accept;"];
  if (dispatch.length > 0) natOutput.push(`ip daddr . tcp dport vmap { ${dispatch.join(", ")} }`);
  return { natOutput, chains, bodies };
}

/**
 * The node's own table (root network namespace): kube-proxy programs Services for the node's processes
 * too, so the host reaches a Service at its virtual IP. Only DNAT: nothing of the host's traffic is
 * filtered. Replaced whole on each change (delete and add in one nft transaction).
 */
export function renderNodeServiceTable(table: string, services: ClusterIpService[], pods: PodEndpoint[]): string {
  const { natOutput, bodies } = serviceNat(services, pods);
  // Declared first so the delete never fails on a missing table; the whole file is one transaction.
  return [`table ip ${table}`, `delete table ip ${table}`, `table ip ${table} {`, chain("nat_output", natOutput), ...bodies, "}"].join("\n") + "\n";
}

/**
 * kube-proxy's nftables mode in small: the nat `output` chain sends VIP:port through a verdict map to a
 * per-port chain that picks an endpoint with `numgen random`; a new connection to a Service address that
 * was not DNATed (no endpoint, unknown port) is refused with a TCP reset by the filter `output` chain,
 * which runs after DNAT (priority 0 > -100). Established connections keep their conntrack NAT binding
 * when an endpoint leaves, as with kube-proxy; new ones go to the endpoints left.
 */
export function renderServiceTable(services: ClusterIpService[], pods: PodEndpoint[], cidrs: { pods: string; services: string }): TableText {
  const { natOutput, chains, bodies } = serviceNat(services, pods);
  const filterOutput = [
    "type filter hook output priority 0; policy accept;",
    // This ct rule also keeps conntrack attached to the netns, whose hooks exist only while a rule needs
    // them. Without it, removing the last dnat rule (last endpoint not ready) detached conntrack: held
    // connections lost their DNAT, went out to the VIP and were reset below (seen on Linux 6.18, nft 1.0.6).
    "ct state established,related accept",
    `ip daddr ${cidrs.services} meta l4proto tcp reject with tcp reset`,
    `ip daddr ${cidrs.services} reject`,
    // Nothing a pod sends leaves the machine, even on a host with ip_forward=1: refused, not left to hang.
    `ip daddr != { 127.0.0.0/8, ${cidrs.pods} } meta l4proto tcp reject with tcp reset`,
    `ip daddr != { 127.0.0.0/8, ${cidrs.pods} } reject`,
  ];
  const text = [`table ip ${SERVICE_TABLE} {`, chain("nat_output", natOutput), ...bodies, chain("filter_output", filterOutput), "}"].join("\n");
  return { text, chains };
}
