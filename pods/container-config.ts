/**
 * The runtime configuration of one container run, from the pod spec, the container and its stand-in, as
 * the kubelet's generateContainerConfig and the runtime's spec generation would make it: identity
 * (pkg/kubelet/kuberuntime security_context.go, verifyRunAsNonRoot), environment and argv (pods/env.ts),
 * the root file system's files, directories and mounts (pods/rootfs.ts).
 */
import { join } from "node:path";
import { commandLine, kubeletEnv, runtimeEnv, type EnvContext } from "./env.ts";
import { ContainerStartError, RunAsNonRootError } from "./errors.ts";
import type { Container, PodSpec } from "./k8s.ts";
import { boundingSet, resolveInRoot, type ProcessIdentity, type RootfsSpec } from "./rootfs.ts";
import type { ImageGroup, ImageUser, StandIn } from "./standins.ts";
import type { PodVolumes } from "./volumes.ts";

export interface PodContext {
  name: string;
  spec: PodSpec;
  hostname: string;
  hostsFile: string;
  volumes: PodVolumes;
  /** Node folders hidden from containers. */
  hide: string[];
  env: EnvContext;
}

export interface ContainerConfig {
  identity: ProcessIdentity;
  env: Array<[string, string]>;
  argv: string[];
  workingDir: string;
  /** The image ENTRYPOINT/CMD this container relied on (the project wants none). */
  relied: string[];
  stopSignal: NodeJS.Signals;
  rootfs: Omit<RootfsSpec, "mountDir">;
}

/** The effective identity: container securityContext over the pod's over the image's USER. */
export function identityFor(c: Container, pod: PodSpec, standIn: StandIn, podName: string): ProcessIdentity {
  const sc = c.securityContext ?? {};
  const psc = pod.securityContext ?? {};
  const explicitUid = sc.runAsUser ?? psc.runAsUser;
  const uid = explicitUid ?? standIn.user.uid;
  // No runAsGroup: the runtime takes the user's primary group from the image's /etc/passwd (0 if absent).
  const gid = sc.runAsGroup ?? psc.runAsGroup ?? (explicitUid === undefined ? standIn.user.gid : (standIn.users.find((u) => u.uid === uid)?.gid ?? 0));
  if ((sc.runAsNonRoot ?? psc.runAsNonRoot) && uid === 0) {
    throw new RunAsNonRootError(
      explicitUid === 0
        ? `container's runAsUser breaks non-root policy (pod: "${podName}", container: ${c.name})`
        : `container has runAsNonRoot and image will run as root (pod: "${podName}", container: ${c.name})`,
    );
  }
  // containerd adds the image's groups that list the user, then the kubelet's fsGroup and supplementalGroups.
  const userName = standIn.users.find((u) => u.uid === uid)?.name;
  const imageGroups = standIn.groups.filter((g) => userName !== undefined && g.members?.includes(userName)).map((g) => g.gid);
  const groups = [...new Set([...imageGroups, ...(psc.fsGroup !== undefined ? [psc.fsGroup] : []), ...(psc.supplementalGroups ?? [])])];
  return { uid, gid, groups, noNewPrivs: sc.allowPrivilegeEscalation === false, capabilities: boundingSet(sc.capabilities, sc.privileged) };
}

function passwd(users: ImageUser[], id: ProcessIdentity): string {
  const all = [...users];
  if (!all.some((u) => u.uid === 0)) all.unshift({ name: "root", uid: 0, gid: 0, home: "/root", shell: "/bin/sh" });
  // The runner adds an account for an otherwise unknown uid: initdb, ssh-style tools refuse a uid without one.
  if (!all.some((u) => u.uid === id.uid)) all.push({ name: `uid${id.uid}`, uid: id.uid, gid: id.gid, home: "/", shell: "/bin/sh" });
  return all.map((u) => `${u.name}:x:${u.uid}:${u.gid}::${u.home}:${u.shell}\n`).join("");
}

function group(groups: ImageGroup[], id: ProcessIdentity): string {
  const all = [...groups];
  if (!all.some((g) => g.gid === 0)) all.unshift({ name: "root", gid: 0 });
  for (const gid of [id.gid, ...id.groups]) if (!all.some((g) => g.gid === gid)) all.push({ name: `gid${gid}`, gid });
  return all.map((g) => `${g.name}:x:${g.gid}:${(g.members ?? []).join(",")}\n`).join("");
}

/** subPath must stay inside its volume (the API server's validation: relative, no `..`). */
function subPathSource(volumeDir: string, subPath: string): string {
  if (subPath.startsWith("/") || subPath.split("/").includes("..")) throw new ContainerStartError(`subPath ${subPath} must be a relative path without '..'`);
  return join(volumeDir, resolveInRoot(subPath, volumeDir));
}

export function containerConfig(c: Container, standIn: StandIn, pod: PodContext): ContainerConfig {
  const identity = identityFor(c, pod.spec, standIn, pod.name);
  const kubelet = kubeletEnv(c, pod.env);
  const { argv, relied } = commandLine(c, standIn, kubelet);
  const env = runtimeEnv(pod.hostname, standIn.env, kubelet);
  const binds: RootfsSpec["binds"] = standIn.binds.map((b) => ({ ...b, readOnly: true }));
  for (const m of c.volumeMounts ?? []) {
    const vol = pod.volumes.get(m.name);
    if (!vol) throw new ContainerStartError(`volumeMount ${m.name} names no volume of the pod`);
    const source = m.subPath ? subPathSource(vol.hostPath, m.subPath) : vol.hostPath;
    binds.push({ source, target: m.mountPath, readOnly: (m.readOnly ?? false) || vol.readOnly });
  }
  const sc = c.securityContext ?? {};
  const workingDir = c.workingDir ?? standIn.workingDir;
  return {
    identity,
    env,
    argv,
    workingDir,
    relied,
    stopSignal: (c.lifecycle?.stopSignal as NodeJS.Signals | undefined) ?? standIn.stopSignal,
    rootfs: {
      hide: pod.hide,
      dirs: standIn.dirs,
      files: [
        { path: "/etc/hosts", content: pod.hostsFile, mode: 0o644 },
        { path: "/etc/hostname", content: `${pod.hostname}\n`, mode: 0o644 },
        { path: "/etc/passwd", content: passwd(standIn.users, identity), mode: 0o644 },
        { path: "/etc/group", content: group(standIn.groups, identity), mode: 0o644 },
      ],
      binds,
      shmFromVolume: (c.volumeMounts ?? []).some((m) => resolveInRoot(m.mountPath) === "/dev/shm"),
      hostname: pod.hostname,
      readOnlyRoot: sc.readOnlyRootFilesystem ?? false,
      workingDir,
      identity,
      env,
      argv,
    },
  };
}
