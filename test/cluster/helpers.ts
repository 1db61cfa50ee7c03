/** Small helpers of the control-plane tests: polling with a deadline (lib/wait.ts), and the sockets a process listens on. */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

import { waitFor as wait } from "../../lib/wait.ts";

/** lib/wait.ts's waitFor with a control plane's patience: 60 s unless told. */
export const waitFor = <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> => wait(what, fn, timeoutMs);

function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** "0100007F" → "127.0.0.1"; an IPv6 address is returned as its hex (never loopback-v4). */
function address(hex: string): string {
  if (hex.length !== 8) return `[${hex}]`;
  return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(".");
}

/** Every TCP socket in LISTEN state (st 0A in /proc/net/tcp{,6}) the processes hold, with its address and port. */
export function listeningSockets(pids: number[]): { pid: number; address: string; port: number }[] {
  const owner = new Map<string, number>();
  for (const pid of pids) for (const inode of socketInodes(pid)) owner.set(inode, pid);
  const out: { pid: number; address: string; port: number }[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== "0A") continue;
      const pid = owner.get(f[9]!);
      if (pid === undefined) continue;
      const [hex, port] = f[1]!.split(":") as [string, string];
      out.push({ pid, address: address(hex), port: parseInt(port, 16) });
    }
  }
  return out;
}
