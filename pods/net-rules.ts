/**
 * What the Service and NetworkPolicy renderers share: label selectors, port and address checks, nft text
 * helpers, and the one-transaction script a pod's netns gets. Pure: nothing here runs a command.
 */
import type { NamedMeta } from "./k8s.ts";
import type { NamedPort, PodEndpoint } from "./network-api.ts";

/** Fixed table names: they live in the pod's own netns, where nothing else of ours or the host's is. */
export const SERVICE_TABLE = "plpod_svc";
export const POLICY_TABLE = "plpod_pol";
export const DROP_COUNTER = "ingress_dropped";

export const DEFAULT_NAMESPACE = "default";
/** Names go into hosts files and rule comments, numbers and CIDRs into nft text: anything else is refused, never interpolated. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const CIDR = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+)\/\d{1,3}$/;

export function isPort(n: unknown): n is number {
  return Number.isInteger(n) && (n as number) > 0 && (n as number) < 65536;
}

export function namespaceOf(obj: { metadata: NamedMeta }): string {
  return obj.metadata.namespace ?? DEFAULT_NAMESPACE;
}

/** A Service selector is a plain map: every key must be present with the same value. */
export function matchesMap(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** metav1.LabelSelector: `{}` selects everything; an unknown operator selects nothing. */
export function matchesSelector(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  if (selector.matchLabels && !matchesMap(selector.matchLabels, labels)) return false;
  return (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    const has = Object.hasOwn(labels, key);
    switch (operator) {
      case "In":
        return has && values.includes(labels[key] as string);
      case "NotIn":
        return !has || !values.includes(labels[key] as string);
      case "Exists":
        return has;
      case "DoesNotExist":
        return !has;
      default:
        return false;
    }
  });
}

export function resolvePort(pod: PodEndpoint, port: number | string): number | undefined {
  const n = typeof port === "number" ? port : pod.ports.find((p: NamedPort) => p.name === port)?.containerPort;
  return isPort(n) ? n : undefined;
}

export function ipv4ToInt(ip: string): number {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new TypeError(`not an IPv4 address: ${ip}`);
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

export function compareIp(a: string, b: string): number {
  return ipv4ToInt(a) - ipv4ToInt(b);
}

/** Table text plus the names of its regular chains (a chain that disappears must be deleted explicitly). */
export interface TableText {
  text: string;
  chains: string[];
}

export function chain(name: string, lines: string[]): string {
  return [`  chain ${name} {`, ...lines.map((l) => `    ${l}`), "  }"].join("\n");
}

export function comment(text: string): string {
  return `comment "${text.replace(/[^A-Za-z0-9./#:_-]/g, "_").slice(0, 120)}"`;
}

/**
 * One nft transaction for a pod's netns: both tables are declared (so the flush never fails), flushed,
 * chains no longer used deleted (their references went with the flush), then defined anew. Either the
 * whole script applies or nothing changes.
 */
export function renderPodRuleset(service: TableText, policy: string, staleServiceChains: string[]): string {
  return [
    `table ip ${SERVICE_TABLE}`,
    `flush table ip ${SERVICE_TABLE}`,
    ...staleServiceChains.map((c) => `delete chain ip ${SERVICE_TABLE} ${c}`),
    service.text,
    `table inet ${POLICY_TABLE}`,
    `flush table inet ${POLICY_TABLE}`,
    policy,
    "",
  ].join("\n");
}
