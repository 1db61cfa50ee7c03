/**
 * The pod network's view of the host, as pure functions: which 198.18.0.0/15 subnets are free, which
 * root-netns nft chains would see pod traffic, and the /etc/hosts a pod gets.
 */
import { ipv4ToInt } from "./net-rules.ts";

/** RFC 2544's benchmarking range: never routed on the internet, rarely used on a host. */
export function podCidr(index: number): string {
  return `198.18.${index}.0/24`;
}

export function serviceCidr(index: number): string {
  return `198.19.${index}.0/24`;
}

function parseCidr(cidr: string): { base: number; bits: number } | undefined {
  const [addr, bitsText] = cidr.split("/");
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  try {
    const n = ipv4ToInt(addr as string);
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return { base: (n & mask) >>> 0, bits };
  } catch {
    return undefined;
  }
}

/** Two prefixes overlap exactly when the shorter one contains the other's network address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y) return false;
  const bits = Math.min(x.bits, y.bits);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((x.base & mask) >>> 0) === ((y.base & mask) >>> 0);
}

/**
 * The first N whose pod and Service /24s overlap no route of `ip -4 -j route show table all`. A default
 * route covers everything and is no conflict; every other route (another run's bridge, a VPN) is.
 */
export function freeSubnetIndex(routes: Array<{ dst?: string }>): number | undefined {
  const taken = routes.map((r) => r.dst).filter((d): d is string => d !== undefined && d !== "default" && !d.startsWith("0.0.0.0/0"));
  for (let n = 0; n < 256; n++) {
    if (!taken.some((d) => cidrsOverlap(d, podCidr(n)) || cidrsOverlap(d, serviceCidr(n)))) return n;
  }
  return undefined;
}

interface NftChain {
  family: string;
  table: string;
  name: string;
  hook?: string;
  policy?: string;
}

/**
 * Root-netns chains that see pod traffic and could stop it. With net.bridge.bridge-nf-call-iptables=1
 * (br_netfilter), IPv4 bridged between two veths of the pod bridge runs through the root netns's ip/inet
 * prerouting, forward and postrouting hooks and its conntrack: a forward chain with policy drop (Docker's
 * iptables-nft does that) silently cuts pod-to-pod traffic; the per-bridge nf_call_iptables option cannot
 * turn the global setting off. Bridge-family chains always see it; input/output chains see node↔pod
 * traffic (probes). Read-only: the network never changes the root ruleset or the sysctl.
 */
export function rootNetfilterHazards(ruleset: { nftables?: unknown[] }, bridgeNfCallIptables: boolean): string[] {
  const chains: NftChain[] = [];
  const ruleCount = new Map<string, number>();
  const key = (c: { family: string; table: string; chain?: string; name?: string }) => `${c.family} ${c.table} ${c.chain ?? c.name}`;
  for (const item of ruleset.nftables ?? []) {
    const obj = item as { chain?: NftChain; rule?: { family: string; table: string; chain: string } };
    if (obj.chain?.hook) chains.push(obj.chain);
    if (obj.rule) ruleCount.set(key(obj.rule), (ruleCount.get(key(obj.rule)) ?? 0) + 1);
  }
  const out: string[] = [];
  for (const c of chains) {
    const rules = ruleCount.get(key(c)) ?? 0;
    if (rules === 0 && c.policy !== "drop") continue;
    const what = `root-netns chain ${c.family} ${c.table} ${c.name} (hook ${c.hook}, policy ${c.policy ?? "accept"}, ${rules} rules)`;
    if (c.family === "bridge") out.push(`${what} sees all traffic on the pod bridge`);
    else if ((c.family === "ip" || c.family === "inet") && ["prerouting", "forward", "postrouting"].includes(c.hook ?? "") && bridgeNfCallIptables) {
      out.push(`${what} sees pod-to-pod traffic on the bridge because net.bridge.bridge-nf-call-iptables=1`);
    } else if ((c.family === "ip" || c.family === "inet") && ["input", "output"].includes(c.hook ?? "")) {
      out.push(`${what} sees traffic between the node address and the pods`);
    }
  }
  return out;
}

/**
 * /etc/hosts for a pod, standing in for cluster DNS: its own name, and each Service's forms. The bare
 * name only for Services of the pod's own namespace, as the DNS search path `<ns>.svc.cluster.local` would.
 */
export function renderHostsFile(pod: { name: string; namespace: string; ip: string }, services: Array<{ namespace: string; name: string; vip: string }>): string {
  const lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost", `${pod.ip}\t${pod.name}`];
  for (const s of [...services].sort((a, b) => ipv4ToInt(a.vip) - ipv4ToInt(b.vip))) {
    const names = [`${s.name}.${s.namespace}`, `${s.name}.${s.namespace}.svc`, `${s.name}.${s.namespace}.svc.cluster.local`];
    if (s.namespace === pod.namespace) names.unshift(s.name);
    lines.push(`${s.vip}\t${names.join(" ")}`);
  }
  return lines.join("\n") + "\n";
}
