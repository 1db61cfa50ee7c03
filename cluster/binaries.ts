/** The control plane's programs, as the toolchain builds them (`npm run toolchain`). */
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { toolchainPaths } from "../toolchain/paths.ts";
import { ClusterBinaryMissingError } from "./errors.ts";

export interface ClusterBinaries {
  etcd: string;
  apiserver: string;
  /** Absent when not built: the API server and etcd still run, with no controller acting on objects. */
  controllerManager: string | undefined;
  scheduler: string | undefined;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The programs in `binDir` (default: the toolchain's bin folder); etcd and kube-apiserver are required. */
export function findClusterBinaries(binDir = toolchainPaths().bin): ClusterBinaries {
  const at = (name: string) => join(binDir, name);
  for (const required of ["etcd", "kube-apiserver"]) {
    if (!executable(at(required))) throw new ClusterBinaryMissingError(required, binDir);
  }
  const optional = (name: string) => (executable(at(name)) ? at(name) : undefined);
  return { etcd: at("etcd"), apiserver: at("kube-apiserver"), controllerManager: optional("kube-controller-manager"), scheduler: optional("kube-scheduler") };
}

/** Why the control plane cannot run here, or undefined when it can: for tests that skip with the reason. */
export function missingClusterBinaries(binDir = toolchainPaths().bin): string | undefined {
  try {
    findClusterBinaries(binDir);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
