/**
 * The node side of the pod network: the bridge in the root netns with the node address, on the first
 * 198.18.N.0/24 no route overlaps, and a read-only look at the root ruleset for chains that would see
 * (and could drop) pod traffic.
 */
import { existsSync, readFileSync } from "node:fs";
import { NoFreeSubnetError, ServiceRangeTakenError } from "./net-errors.ts";
import { run } from "./net-exec.ts";
import { cidrsOverlap, freeSubnetIndex, podCidr, rootNetfilterHazards, serviceCidr } from "./net-host.ts";
import { startTimeOf } from "../lib/proc.ts";
import { removeObjects, removeState, withSubnetLock, writeState, type RunState } from "./net-state.ts";

type Log = (msg: string) => void;

const BRIDGE_NF_SYSCTL = "/proc/sys/net/bridge/bridge-nf-call-iptables";

/** `198.18.3.0/24`, 7 → `198.18.3.7`. */
export function hostAddress(cidr: string, host: number): string {
  return cidr.replace(/\.0\/24$/, `.${host}`);
}

/**
 * Creates the bridge `plpod<runId>` with `.1` of a free pod /24; the state file lists it before it exists.
 * `serviceRoute`: a Service range the host itself sends to (the node's), routed onto the bridge, so that a
 * packet for a virtual IP no nft rule has translated (yet, or any more) stays on this host's pod network
 * instead of following the default route off the machine. The route goes with the bridge.
 */
export async function createBridge(runId: string, log: Log, opts: { serviceRoute?: string } = {}): Promise<RunState> {
  const bridge = `plpod${runId}`;
  return withSubnetLock(async () => {
    const routes = JSON.parse(await run("ip", ["-4", "-j", "route", "show", "table", "all"])) as Array<{ dst?: string; table?: string }>;
    const n = freeSubnetIndex(routes);
    if (n === undefined) throw new NoFreeSubnetError();
    const clash = opts.serviceRoute ? routes.find((r) => r.dst && r.dst !== "default" && r.table !== "local" && cidrsOverlap(r.dst, opts.serviceRoute!)) : undefined;
    if (clash) throw new ServiceRangeTakenError(opts.serviceRoute!, clash.dst!);
    const state: RunState = { version: 1, runId, pid: process.pid, pidStart: startTimeOf(process.pid) ?? "", bridge, podCidr: podCidr(n), serviceCidr: serviceCidr(n), netns: [], links: [] };
    await writeState(state);
    try {
      await run("ip", ["link", "add", "name", bridge, "type", "bridge"]);
      await run("ip", ["addr", "add", `${hostAddress(state.podCidr, 1)}/24`, "dev", bridge]);
      // Up inside the lock: only then is the subnet's route in the table the next run reads.
      await run("ip", ["link", "set", "dev", bridge, "up"]);
      if (opts.serviceRoute) await run("ip", ["route", "add", opts.serviceRoute, "dev", bridge]);
    } catch (err) {
      await removeObjects({ netns: [], links: [], bridge }, log);
      await removeState(runId);
      throw err;
    }
    return state;
  });
}

/**
 * br_netfilter (net.bridge.bridge-nf-call-iptables=1, as on these hosts) passes IPv4 bridged between two
 * pods through the root netns's ip/inet hooks. Nothing is changed for it, neither the sysctl nor the root
 * ruleset: with no root chain that filters (the case here), it is harmless; otherwise the log names the
 * chain that will eat pod traffic, instead of leaving a mysterious timeout.
 */
export async function reportRootNetfilter(log: Log): Promise<void> {
  const bridgeNf = existsSync(BRIDGE_NF_SYSCTL) && readFileSync(BRIDGE_NF_SYSCTL, "utf8").trim() === "1";
  let ruleset: { nftables?: unknown[] };
  try {
    ruleset = JSON.parse(await run("nft", ["-j", "list", "ruleset"])) as { nftables?: unknown[] };
  } catch (err) {
    log(`pod network: could not read the root nft ruleset (${(err as Error).message}); not checked for chains that drop pod traffic`);
    return;
  }
  const hazards = rootNetfilterHazards(ruleset, bridgeNf);
  for (const hazard of hazards) log(`pod network: warning: ${hazard}`);
  if (bridgeNf && hazards.length === 0) log("pod network: bridge-nf-call-iptables=1 passes pod-to-pod traffic through the root netns's ip/inet hooks; no root chain there filters it");
}
