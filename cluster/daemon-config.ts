/** What `up` hands the daemon (one JSON argument), and how the daemon marks its log lines. */
import type { ClusterPorts } from "./layout.ts";

export interface DaemonConfig {
  dataDir: string;
  ports: ClusterPorts;
  binDir: string;
}

/** Marks the lines `up` passes on; anything else in the log (a stack trace of a bug) is printed as is. */
export const DAEMON_PREFIX = "[cluster] ";
