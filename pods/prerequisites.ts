/**
 * What `npm run pods` needs before it starts anything: root, the host tools a container runtime calls,
 * and a stand-in for every server the checks exercise. Found up front, all at once, so a machine
 * without nftables stops in a second with what to install, instead of marking every pod Failed and
 * waiting for its readiness deadline.
 */
import { missingCommands, type RequiredCommand } from "../lib/commands.ts";
import { PrerequisitesMissingError } from "../lib/errors.ts";
import { workloadsOf, type Manifest } from "./k8s.ts";
import type { StandIns } from "./standins.ts";

/** The host programs the runner calls (pods/net-*.ts, container.ts, volumes.ts, exec.ts). */
export const HOST_COMMANDS: readonly RequiredCommand[] = [
  { command: "ip", debianPackage: "iproute2", usedFor: "network namespaces, veths and the pod bridge" },
  { command: "nft", debianPackage: "nftables", usedFor: "Service addresses and NetworkPolicies" },
  { command: "unshare", debianPackage: "util-linux", usedFor: "each container's PID, mount, UTS and IPC namespaces" },
  { command: "nsenter", debianPackage: "util-linux", usedFor: "entering a pod's network namespace, exec" },
  { command: "setpriv", debianPackage: "util-linux", usedFor: "a container's user and parent-death signal" },
  { command: "mount", debianPackage: "mount", usedFor: "volumes and each container's root" },
  { command: "umount", debianPackage: "mount", usedFor: "removing volumes" },
  { command: "npm", debianPackage: "npm", usedFor: "building the probe app's stand-in" },
];

/** Root, and the host commands: what the runner needs before it reads a manifest. */
export function hostProblems(uid: number | undefined = process.getuid?.(), dirs?: readonly string[]): string[] {
  return [
    ...(uid === 0 ? [] : ["root: the runner creates network namespaces, mounts and nftables rules the way a container runtime does (run it with sudo)"]),
    ...missingCommands(HOST_COMMANDS, dirs),
  ];
}

/** Each workload's server (its first container) whose image has no stand-in on this machine, with why. */
export function missingServers(manifests: ReadonlyArray<{ object: Manifest }>, standIns: Pick<StandIns, "resolve">): string[] {
  const out: string[] = [];
  const objects = manifests.map((m) => m.object);
  for (const workload of workloadsOf(objects)) {
    const image = workload.spec?.template.spec?.containers[0]?.image;
    if (image === undefined) continue;
    const r = standIns.resolve(image);
    if (!r.standIn) out.push(`a stand-in for ${image} (${workload.kind} ${workload.metadata.name}): ${r.reason}`);
  }
  return [...new Set(out)];
}

/** Throws PrerequisitesMissingError listing every problem; returns when there is none. */
export function requirePrerequisites(problems: readonly string[]): void {
  if (problems.length > 0) throw new PrerequisitesMissingError("npm run pods", problems);
}
