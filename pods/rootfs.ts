/**
 * A container's root file system and process identity, as a shell script run as root inside the
 * container's new mount, PID, UTS and IPC namespaces (pods/container.ts starts it). What a runtime such as
 * runc does with an OCI spec, done with mount(8), chroot(8) and setpriv(1):
 * - a tmpfs holding an overlay's upper and work dirs over `/` (this machine's root stands in for the
 *   image's layers; writes go to the tmpfs and vanish with the container);
 * - the run's own folders hidden, the image's directories and files (/etc/passwd, /etc/hosts, ...) made;
 * - /proc of the new PID namespace, a /dev of its own, /sys read-only, an empty /tmp;
 * - each mount bound at its target (mount targets resolved inside the root, never through a symlink to
 *   this machine's paths: runc's securejoin), read-only where asked, parents before children;
 * - the root remounted read-only for readOnlyRootFilesystem;
 * - then `chroot` + `setpriv` as the container's user, groups and capabilities, exec'ing the command, so
 *   the command is PID 1 of the PID namespace.
 */
import { lstatSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { shq } from "./proc.ts";

/** Who the container's processes run as (the runtime's process.user and capabilities). */
export interface ProcessIdentity {
  uid: number;
  gid: number;
  /** Supplementary groups: fsGroup, supplementalGroups, the image's groups of the user. */
  groups: number[];
  noNewPrivs: boolean;
  /** The bounding set, as setpriv capability names ("chown", "net_bind_service"); empty: none. */
  capabilities: string[];
}

export interface RootfsSpec {
  /** An empty directory on the node; the container's tmpfs is mounted on it inside its own mount namespace. */
  mountDir: string;
  /** Node folders the container must not see through the overlay (the run's pods, volumes and claims). */
  hide: string[];
  dirs: Array<{ path: string; uid: number; gid: number; mode: number }>;
  files: Array<{ path: string; content: string; mode: number }>;
  /** Image binds and volume mounts; `target` inside the container. */
  binds: Array<{ source: string; target: string; readOnly: boolean }>;
  /** A volume is mounted at /dev/shm, so no private tmpfs goes there. */
  shmFromVolume: boolean;
  hostname: string;
  readOnlyRoot: boolean;
  workingDir: string;
  identity: ProcessIdentity;
  env: Array<[string, string]>;
  argv: string[];
}

/** containerd's default capabilities (pkg/oci defaultUnixCaps / runtime default), lower-case for setpriv. */
export const DEFAULT_CAPABILITIES = ["chown", "dac_override", "fsetid", "fowner", "mknod", "net_raw", "setgid", "setuid", "setfcap", "setpcap", "net_bind_service", "sys_chroot", "kill", "audit_write"];

/** The bounding set for a securityContext.capabilities (containerd's getCapabilities: ALL first, then add, then drop). */
export function boundingSet(caps: { add?: string[]; drop?: string[] } | undefined, privileged = false): string[] {
  const norm = (c: string) => c.toLowerCase().replace(/^cap_/, "");
  const add = (caps?.add ?? []).map(norm);
  const drop = (caps?.drop ?? []).map(norm);
  let set = privileged || add.includes("all") ? ["all"] : [...DEFAULT_CAPABILITIES];
  if (drop.includes("all")) set = [];
  for (const c of add) if (c !== "all" && !set.includes(c) && !set.includes("all")) set.push(c);
  return set.filter((c) => !drop.includes(c));
}

/** setpriv arguments that become the container's identity; the parent-death signal re-armed after the uid change clears it. */
export function setprivArgs(id: ProcessIdentity): string[] {
  const bounding = id.capabilities.includes("all") ? "+all" : ["-all", ...id.capabilities.map((c) => `+${c}`)].join(",");
  return [
    "--reuid",
    String(id.uid),
    "--regid",
    String(id.gid),
    ...(id.groups.length ? ["--groups", id.groups.join(",")] : ["--clear-groups"]),
    ...(id.noNewPrivs ? ["--no-new-privs"] : []),
    "--inh-caps=-all",
    `--bounding-set=${bounding}`,
    "--pdeathsig",
    "KILL",
  ];
}

/**
 * Resolves a path as the container will see it: symlinks followed inside the root (an absolute link
 * restarts at the root), `..` never above it; a missing tail is kept as is (it will be created).
 */
export function resolveInRoot(path: string, root = "/"): string {
  const todo = path.split("/").filter((p) => p !== "" && p !== ".");
  const done: string[] = [];
  let links = 0;
  while (todo.length) {
    const part = todo.shift()!;
    if (part === "..") {
      done.pop();
      continue;
    }
    const host = join(root, ...done, part);
    let link: string | undefined;
    try {
      link = lstatSync(host).isSymbolicLink() ? readlinkSync(host) : undefined;
    } catch {
      link = undefined; // missing: created later, as a directory or file
    }
    if (link === undefined) {
      done.push(part);
      continue;
    }
    if (++links > 40) throw new RangeError(`too many symlinks resolving ${path}`);
    if (link.startsWith("/")) done.length = 0;
    todo.unshift(...link.split("/").filter((p) => p !== "" && p !== "."));
  }
  return `/${done.join("/")}`;
}

/** Mount order: fewer path elements first, so a parent mount never hides a child (containerd sorts mounts so). */
function depth(p: string): number {
  return p.split("/").filter(Boolean).length;
}

export function setupScript(spec: RootfsSpec): string {
  const R = '"$R"';
  const at = (p: string) => `${R}${shq(resolveInRoot(p))}`;
  const lines = [
    "set -eu",
    `M=${shq(spec.mountDir)}`,
    'R="$M/root"',
    // Nothing mounted here may reach the node's mount namespace, nor the node's mounts reach here later.
    "mount --make-rprivate /",
    'mount -t tmpfs -o mode=0700 pods-rootfs "$M"',
    'mkdir "$M/upper" "$M/work" "$R"',
    'mount -t overlay -o "lowerdir=/,upperdir=$M/upper,workdir=$M/work" overlay "$R"',
    ...spec.hide.map((h) => `if [ -d ${at(h)} ]; then mount -t tmpfs -o ro,size=4k,mode=0755 hidden ${at(h)}; fi`),
    ...spec.dirs.flatMap((d) => [`mkdir -p ${at(d.path)}`, `chown ${d.uid}:${d.gid} ${at(d.path)}`, `chmod ${d.mode.toString(8)} ${at(d.path)}`]),
    ...spec.files.flatMap((f) => [`mkdir -p "$(dirname ${at(f.path)})"`, `printf %s ${shq(f.content)} > ${at(f.path)}`, `chmod ${f.mode.toString(8)} ${at(f.path)}`]),
    `mount -t proc -o nosuid,nodev,noexec proc ${R}/proc`,
    ...devScript(spec.shmFromVolume),
    `mount -t sysfs -o ro,nosuid,nodev,noexec sysfs ${R}/sys`,
    // An image's /tmp is empty: the node's own /tmp (and whatever it holds) is not the container's.
    `mount -t tmpfs -o ${spec.readOnlyRoot ? "ro," : ""}nosuid,nodev,mode=1777 tmp ${R}/tmp`,
    // bind SOURCE TARGET ro|rw: the target made as a directory or an empty file, whichever the source is.
    'bind() { if [ -d "$1" ]; then mkdir -p "$R$2"; else mkdir -p "$(dirname "$R$2")"; [ -e "$R$2" ] || : > "$R$2"; fi',
    '  mount --bind "$1" "$R$2"; if [ "$3" = ro ]; then mount -o remount,bind,ro "$R$2"; fi; }',
    ...[...spec.binds]
      .map((b) => ({ ...b, target: resolveInRoot(b.target) }))
      .sort((a, b) => depth(a.target) - depth(b.target))
      .map((b) => `bind ${shq(b.source)} ${shq(b.target)} ${b.readOnly ? "ro" : "rw"}`),
    `printf %s ${shq(spec.hostname)} > /proc/sys/kernel/hostname`,
    // runc creates a missing working directory, as root, before the root turns read-only.
    `mkdir -p ${at(spec.workingDir)}`,
    ...(spec.readOnlyRoot ? [`mount -o remount,bind,ro ${R}`] : []),
    ...commandCheck(spec),
    // Tell the runner the command is about to run; the container's stderr is the log from here on.
    "printf 'ready\\n' >&3",
    "exec 2>&4 3>&- 4>&-",
    ["exec chroot", R, "/usr/bin/env -i -C", shq(spec.workingDir), ...spec.env.map(([k, v]) => shq(`${k}=${v}`)), "/usr/bin/setpriv", ...setprivArgs(spec.identity), "--", ...spec.argv.map(shq)].join(" "),
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * /dev as runc makes it (libcontainer/rootfs_linux.go: a tmpfs, the default device nodes bound from the
 * node, a private devpts, /dev/shm, mqueue, the fd links) plus the kubelet's /dev/termination-log.
 */
function devScript(shmFromVolume: boolean): string[] {
  const D = '"$R/dev"';
  return [
    `mount -t tmpfs -o nosuid,strictatime,mode=755,size=65536k dev ${D}`,
    `for d in null zero full random urandom tty; do : > "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done`,
    `mkdir "$R/dev/pts" "$R/dev/shm" "$R/dev/mqueue"`,
    `mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,nosuid,noexec devpts "$R/dev/pts"`,
    `ln -s pts/ptmx "$R/dev/ptmx"`,
    `ln -s /proc/self/fd "$R/dev/fd"; ln -s /proc/self/fd/0 "$R/dev/stdin"; ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"`,
    `mount -t mqueue -o nosuid,nodev,noexec mqueue "$R/dev/mqueue"`,
    ...(shmFromVolume ? [] : [`mount -t tmpfs -o nosuid,nodev,noexec,mode=1777,size=64m shm "$R/dev/shm"`]),
    `: > "$R/dev/termination-log"; chmod 666 "$R/dev/termination-log"`,
  ];
}

/** runc looks the command up in the container's PATH before starting it; not found is a start error, not an exit. */
function commandCheck(spec: RootfsSpec): string[] {
  const argv0 = spec.argv[0];
  if (argv0 === undefined) return ['echo "no command specified" >&2', "exit 128"];
  const path = spec.env.find(([k]) => k === "PATH")?.[1] ?? "";
  const msg = `exec: "${argv0}": executable file not found in $PATH`;
  return [`if ! chroot "$R" /usr/bin/env -i PATH=${shq(path)} /bin/sh -c 'command -v "$1" >/dev/null' sh ${shq(argv0)}; then printf '%s\\n' ${shq(msg)} >&2; exit 128; fi`];
}
