/**
 * ConfigMap and Secret volume contents written as the kubelet writes them: pkg/volume/util/atomic_writer.go.
 * The files live in a `..<timestamp>` directory; `..data` is a symlink to it; each top-level path is a
 * symlink `name → ..data/name`. An update writes a new timestamp directory, points `..data_tmp` at it and
 * renames that over `..data` (one atomic rename), then removes the paths that went away and the old
 * directory. A reader opening `key` therefore sees the old file or the new one, never a mix.
 */
import { randomInt } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { VolumeError } from "./errors.ts";

export interface PayloadFile {
  data: Buffer;
  mode: number;
}

/** Relative file path → content and mode, as MakePayload in pkg/volume/configmap and pkg/volume/secret builds it. */
export type Payload = Map<string, PayloadFile>;

const DATA = "..data";
const DATA_TMP = "..data_tmp";

/** validatePath: relative, no `..` element, no leading `..`, at most 4096 bytes. */
function validatePath(path: string): void {
  if (path.length > 4096) throw new VolumeError(`payload path too long: ${path.length} bytes`);
  if (path.startsWith("/")) throw new VolumeError(`payload path must be relative: ${path}`);
  if (path.split("/").some((p) => p === "..")) throw new VolumeError(`payload path must not contain '..': ${path}`);
  if (path.startsWith("..")) throw new VolumeError(`payload path must not start with '..': ${path}`);
}

/** `..2006_01_02_15_04_05.<random>`, as newTimestampDir names it (os.MkdirTemp on that prefix), then chmod 0755. */
function newTimestampDir(target: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, "0");
  const prefix = `..${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}.`;
  for (;;) {
    // os.MkdirTemp appends a random uint32 in decimal; a collision just draws again.
    const dir = join(target, `${prefix}${randomInt(2 ** 32)}`);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw err;
    }
    chmodSync(dir, 0o755);
    return dir;
  }
}

function samePayload(target: string, payload: Payload): boolean {
  let current: string;
  try {
    current = readlinkSync(join(target, DATA));
  } catch {
    return false;
  }
  const dir = join(target, current);
  const files = (d: string, prefix = ""): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
  const have = files(dir);
  if (have.length !== payload.size) return false;
  return have.every((f) => payload.get(f)?.data.equals(readFileSync(join(dir, f))));
}

/**
 * Write(payload, setPerms): writes only when the content changed; `setPerms` (fsGroup ownership) runs on
 * the new directory before it becomes visible. Returns whether anything was written.
 */
export function atomicWrite(target: string, payload: Payload, setPerms?: () => void): boolean {
  for (const path of payload.keys()) validatePath(path);
  mkdirSync(target, { recursive: true });
  let oldTs: string | undefined;
  try {
    oldTs = readlinkSync(join(target, DATA));
  } catch {
    oldTs = undefined;
  }
  const oldTop = new Set(readdirSync(target).filter((n) => !n.startsWith("..")));
  const newTop = new Set([...payload.keys()].map((p) => p.split("/")[0]!));
  if (samePayload(target, payload)) return false;

  const ts = newTimestampDir(target);
  for (const [path, file] of payload) {
    const full = join(ts, path);
    mkdirSync(dirname(full), { recursive: true, mode: 0o755 });
    writeFileSync(full, file.data);
    chmodSync(full, file.mode); // the mode as given, whatever the umask
  }
  setPerms?.();

  // createUserVisibleFiles: top-level links through ..data, made before the swap so they resolve at once.
  for (const top of newTop) if (!existsSync(join(target, top)) && !oldTop.has(top)) symlinkSync(join(DATA, top), join(target, top));
  rmSync(join(target, DATA_TMP), { force: true });
  symlinkSync(ts.slice(target.length + 1), join(target, DATA_TMP));
  renameSync(join(target, DATA_TMP), join(target, DATA));

  // removeUserVisiblePaths, then the old timestamp directory.
  for (const top of oldTop) if (!newTop.has(top)) rmSync(join(target, top), { force: true });
  if (oldTs) rmSync(join(target, oldTs), { recursive: true, force: true });
  return true;
}
