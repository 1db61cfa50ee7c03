/**
 * NetworkPolicies as an enforcing CNI would program them, as pure functions: the policies (parsed YAML)
 * and the pods in, the text of a pod's `inet` ingress filter table out.
 */
import type { INetworkPolicyIngressRule } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyIngressRule";
import type { NetworkPolicy } from "./k8s.ts";
import type { PodEndpoint } from "./network-api.ts";
import { CIDR, DROP_COUNTER, POLICY_TABLE, chain, comment, compareIp, isPort, matchesSelector, namespaceOf, resolvePort, type LabelSelector } from "./net-rules.ts";

type IngressRule = INetworkPolicyIngressRule;

export function policyTypes(policy: NetworkPolicy): string[] {
  return policy.spec?.policyTypes ?? (policy.spec?.egress ? ["Ingress", "Egress"] : ["Ingress"]);
}

/** Things a policy asks for that are not enforced here; the network logs each once. */
export function policyNotes(policy: NetworkPolicy): string[] {
  const id = `NetworkPolicy ${namespaceOf(policy)}/${policy.metadata.name}`;
  const notes: string[] = [];
  if (policyTypes(policy).includes("Egress")) notes.push(`${id}: Egress rules are not enforced by the pod runner (Ingress only)`);
  const peers = (policy.spec?.ingress ?? []).flatMap((r) => r.from ?? []);
  if (peers.some((p) => p.namespaceSelector && !onlyNameLabel(p.namespaceSelector))) {
    notes.push(`${id}: a namespaceSelector is matched against the kubernetes.io/metadata.name label only (the runner knows no other namespace labels)`);
  }
  return notes;
}

const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

function onlyNameLabel(sel: LabelSelector): boolean {
  const keys = [...Object.keys(sel.matchLabels ?? {}), ...(sel.matchExpressions ?? []).map((e) => e.key)];
  return keys.every((k) => k === NAMESPACE_NAME_LABEL);
}

/** Policies that isolate `pod` for ingress: same namespace, podSelector matches, Ingress among the types. */
export function policiesSelecting(pod: PodEndpoint, policies: NetworkPolicy[]): NetworkPolicy[] {
  return policies.filter((p) => namespaceOf(p) === pod.namespace && policyTypes(p).includes("Ingress") && matchesSelector(p.spec?.podSelector ?? {}, pod.labels));
}

/** Source matches of one rule: `undefined` for any source, else one nft match per peer group (maybe none). */
function sourceMatches(rule: IngressRule, policyNs: string, pods: PodEndpoint[]): string[] | undefined {
  if (!rule.from || rule.from.length === 0) return undefined;
  const ips = new Set<string>();
  const matches: string[] = [];
  for (const peer of rule.from) {
    if (peer.ipBlock) {
      if (![peer.ipBlock.cidr, ...(peer.ipBlock.except ?? [])].every((c) => CIDR.test(c))) continue;
      const fam = peer.ipBlock.cidr.includes(":") ? "ip6" : "ip";
      const except = peer.ipBlock.except ?? [];
      matches.push(`${fam} saddr ${peer.ipBlock.cidr}` + (except.length > 0 ? ` ${fam} saddr != { ${except.join(", ")} }` : ""));
      continue;
    }
    for (const pod of pods) {
      const nsOk = peer.namespaceSelector ? matchesSelector(peer.namespaceSelector, { [NAMESPACE_NAME_LABEL]: pod.namespace }) : pod.namespace === policyNs;
      if (nsOk && matchesSelector(peer.podSelector ?? {}, pod.labels)) ips.add(pod.ip);
    }
  }
  if (ips.size > 0) matches.unshift(`ip saddr { ${[...ips].sort(compareIp).join(", ")} }`);
  return matches;
}

/** Port matches of one rule: `undefined` for any port, else one nft match per protocol (maybe none). */
function portMatches(rule: IngressRule, pod: PodEndpoint): string[] | undefined {
  if (!rule.ports || rule.ports.length === 0) return undefined;
  const byProto = new Map<string, Set<string> | "all">();
  for (const p of rule.ports) {
    const proto = (p.protocol ?? "TCP").toLowerCase();
    if (!["tcp", "udp", "sctp"].includes(proto)) continue;
    if (p.port === undefined) {
      byProto.set(proto, "all");
      continue;
    }
    const port = resolvePort(pod, typeof p.port === "string" && /^\d+$/.test(p.port) ? Number(p.port) : p.port);
    if (port === undefined) continue; // a named port this pod does not have: the entry admits nothing here
    const set = byProto.get(proto) ?? new Set<string>();
    if (set === "all") continue;
    set.add(isPort(p.endPort) && p.endPort > port ? `${port}-${p.endPort}` : String(port));
    byProto.set(proto, set);
  }
  return [...byProto].map(([proto, set]) => (set === "all" ? `meta l4proto ${proto}` : `meta l4proto ${proto} th dport { ${[...set].join(", ")} }`));
}

/**
 * The ingress filter of one pod. Not selected by any Ingress policy: everything is accepted. Selected:
 * replies, loopback and what one of the selecting policies' rules allows; the rest is counted and dropped.
 * The node address gets no exemption, as with strict CNIs (kubernetes-sigs/kind#3875): a policy that
 * forgets kubelet's probes shows up as failing probes.
 */
export function renderPolicyTable(pod: PodEndpoint, policies: NetworkPolicy[], pods: PodEndpoint[]): string {
  const selecting = policiesSelecting(pod, policies);
  const input = ["type filter hook input priority 0; policy accept;"];
  if (selecting.length > 0) {
    input.push("ct state established,related accept", 'iifname "lo" accept');
    for (const policy of [...selecting].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
      (policy.spec?.ingress ?? []).forEach((rule, i) => {
        const sources = sourceMatches(rule, namespaceOf(policy), pods);
        const ports = portMatches(rule, pod);
        for (const src of sources ?? [""]) {
          for (const port of ports ?? [""]) {
            input.push([src, port, "accept", comment(`${policy.metadata.name}#${i}`)].filter(Boolean).join(" "));
          }
        }
      });
    }
    input.push(`counter name ${DROP_COUNTER} drop`);
  }
  return [`table inet ${POLICY_TABLE} {`, `  counter ${DROP_COUNTER} {`, "  }", chain("input", input), "}"].join("\n");
}
