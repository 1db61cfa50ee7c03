/**
 * The Service range a data folder's cluster uses: chosen by its first `up` from the API server's port
 * (flags.ts serviceRangeForPort) and kept in the folder, because the Services etcd holds have addresses
 * from it; a later `up` on other ports keeps it.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { serviceRangeForPort } from "./flags.ts";
import type { ClusterLayout, ClusterPorts } from "./layout.ts";

const RANGE = /^10\.(9[6-9]|10[0-9]|11[01])\.\d{1,3}\.0\/24$/;

export function ensureServiceRange(l: ClusterLayout, p: ClusterPorts): string {
  const kept = existsSync(l.serviceRangeFile) ? readFileSync(l.serviceRangeFile, "utf8").trim() : undefined;
  if (kept !== undefined && RANGE.test(kept)) return kept;
  const range = serviceRangeForPort(p.apiserver);
  writeFileSync(l.serviceRangeFile, `${range}\n`, { mode: 0o600 });
  return range;
}
