/**
 * fsGroup applied to a volume as the kubelet does: pkg/volume/volume_linux.go SetVolumeOwnership,
 * changeFilePermission and requiresPermissionChange. Every file and directory (symlinks not followed)
 * gets group fsGroup and group read/write (read only for read-only volumes), directories also group
 * execute and setgid. With `fsGroupChangePolicy: OnRootMismatch` nothing is done when the root already has
 * the group, the bits and setgid. This is what turns a PGDATA of 0700 into 2770 on every mount, which
 * PostgreSQL then refuses.
 */
import { chmodSync, lchownSync, lstatSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const RW_MASK = 0o660;
const RO_MASK = 0o440;
const EXEC_MASK = 0o110;
const SETGID = 0o2000;

/** requiresPermissionChange: the root's group, permission bits and setgid all match already? */
export function requiresPermissionChange(root: string, fsGroup: number, readOnly: boolean): boolean {
  let st;
  try {
    st = statSync(root);
  } catch {
    return true;
  }
  if (st.gid !== fsGroup || !st.isDirectory()) return true;
  const want = (readOnly ? RO_MASK : RW_MASK) | EXEC_MASK;
  return (st.mode & want) !== want || (st.mode & SETGID) === 0;
}

/** changeFilePermission for one entry: lchown to the group, chmod except for symlinks (a chmod would follow them). */
function changeFilePermission(path: string, fsGroup: number, readOnly: boolean): boolean {
  const st = lstatSync(path);
  lchownSync(path, st.uid, fsGroup);
  if (st.isSymbolicLink()) return false;
  let mask = readOnly ? RO_MASK : RW_MASK;
  if (st.isDirectory()) mask |= SETGID | EXEC_MASK;
  chmodSync(path, (st.mode & 0o7777) | mask);
  return st.isDirectory();
}

/**
 * SetVolumeOwnership(dir, fsGroup, fsGroupChangePolicy). Returns whether it walked the tree (false when
 * there is no fsGroup or OnRootMismatch found the root matching).
 */
export function setVolumeOwnership(dir: string, fsGroup: number | undefined, opts: { readOnly?: boolean; policy?: "Always" | "OnRootMismatch" } = {}): boolean {
  if (fsGroup === undefined) return false;
  const readOnly = opts.readOnly ?? false;
  if (opts.policy === "OnRootMismatch" && !requiresPermissionChange(dir, fsGroup, readOnly)) return false;
  const walk = (path: string) => {
    if (changeFilePermission(path, fsGroup, readOnly)) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(dir);
  return true;
}
