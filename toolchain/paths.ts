/**
 * Where the toolchain keeps what it builds: outside the repository, so a clean clone or `git clean`
 * never throws away an hour of compiling, and nothing built is ever committed.
 */
import { homedir } from "node:os";
import { join } from "node:path";

export interface ToolchainPaths {
  /** `$POOLING_TOOLCHAIN_DIR`, else `$XDG_CACHE_HOME/pooling-toolchain`, else `~/.cache/pooling-toolchain`. */
  readonly root: string;
  /** The built binaries: pulumi, pulumi-language-nodejs, the providers, the control plane. */
  readonly bin: string;
  /**
   * What goes on PATH: links to every binary but the providers. The CLI prefers a `pulumi-resource-*` found
   * on PATH over the installed plugin (and warns about it), so the providers are reached only as plugins.
   */
  readonly path: string;
  /** One folder per recipe: its wrapper module, unpacked sources, build stamp. */
  readonly work: string;
  /** PULUMI_HOME for the toolchain's CLI: its plugin folder holds the providers built here. */
  readonly pulumiHome: string;
}

export function toolchainPaths(env: NodeJS.ProcessEnv = process.env): ToolchainPaths {
  const root = env.POOLING_TOOLCHAIN_DIR || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "pooling-toolchain");
  return { root, bin: join(root, "bin"), path: join(root, "path"), work: join(root, "work"), pulumiHome: join(root, "pulumi-home") };
}
