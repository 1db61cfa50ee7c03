/**
 * Stand-in images: this machine's binaries in place of the images the manifests name. An image is
 * matched by its repository (the tag is ignored, but reported); what a stand-in gives is what an image
 * gives a container: ENV, /etc/passwd and /etc/group, USER, WORKDIR, ENTRYPOINT/CMD, STOPSIGNAL, and files
 * at the image's paths. Everything else of the container comes from the manifest.
 */
import { debianStandIns } from "./standin-table.ts";

export interface ImageUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface ImageGroup {
  name: string;
  gid: number;
  members?: string[];
}

export interface StandIn {
  /** "Debian PostgreSQL 15.18 (/usr/lib/postgresql/15/bin/postgres)": the version detected by running it. */
  description: string;
  version: string;
  /** The image's ENV, in its order, values resolved. */
  env: Record<string, string>;
  /** The accounts of the image's /etc/passwd and /etc/group (root is always added). */
  users: ImageUser[];
  groups: ImageGroup[];
  /** The image's USER; root when it sets none. */
  user: { uid: number; gid: number };
  /** The image's WORKDIR; "/" when it sets none. */
  workingDir: string;
  entrypoint?: string[];
  cmd?: string[];
  /** The image's STOPSIGNAL: containerd stops a container with it (pkg/cri StopContainer), SIGTERM by default. */
  stopSignal: NodeJS.Signals;
  /** This machine's files bound read-only at the image's paths (the built app at /app, binaries). */
  binds: Array<{ source: string; target: string }>;
  /** Directories the image's Dockerfile creates, with their owner and mode. */
  dirs: Array<{ path: string; uid: number; gid: number; mode: number }>;
  /** Where the stand-in differs from the image, said in the report. */
  notes: string[];
  /** One-time work before the first container uses it (the probe app's build); memoised by StandIns. */
  prepare?: () => Promise<void>;
}

/** One row of the table: an image repository pattern ("postgres", "*\/pooling-probe") and what stands in, or why nothing does. */
export type StandInEntry = { pattern: string; standIn: StandIn } | { pattern: string; standIn: null; reason: string };

export type Resolution = { image: string; repository: string; tag: string | null } & ({ standIn: StandIn; reason?: undefined } | { standIn: null; reason: string });

/** "localhost:5001/pooling-probe:dev" → repository and tag; `docker.io/library/` dropped as registries do. */
export function parseImage(image: string): { repository: string; tag: string | null } {
  let ref = image.split("@")[0]!;
  let tag: string | null = null;
  const colon = ref.lastIndexOf(":");
  if (colon > ref.lastIndexOf("/")) {
    tag = ref.slice(colon + 1);
    ref = ref.slice(0, colon);
  }
  const repository = ref.replace(/^(docker\.io|index\.docker\.io)\//, "").replace(/^library\//, "");
  return { repository, tag };
}

function matches(pattern: string, repository: string): boolean {
  if (!pattern.startsWith("*/")) return pattern === repository;
  const name = pattern.slice(2);
  return repository === name || repository.endsWith(`/${name}`);
}

export class StandIns {
  private readonly seen = new Map<string, Resolution>();
  private readonly prepared = new Map<StandIn, Promise<void>>();

  /**
   * @param entries the table, first match wins
   * @param stackVersions stack config values (`postgres.version`, ...) matching the stand-ins' versions,
   *   for rendering the stack the runner runs
   */
  constructor(
    private readonly entries: readonly StandInEntry[],
    readonly stackVersions: Readonly<Record<string, string>> = {},
  ) {}

  resolve(image: string): Resolution {
    const known = this.seen.get(image);
    if (known) return known;
    const { repository, tag } = parseImage(image);
    const entry = this.entries.find((e) => matches(e.pattern, repository));
    const r: Resolution = entry?.standIn
      ? { image, repository, tag, standIn: entry.standIn }
      : { image, repository, tag, standIn: null, reason: entry && !entry.standIn ? entry.reason : `no stand-in for the image repository ${repository} on this machine` };
    this.seen.set(image, r);
    return r;
  }

  /** Runs a stand-in's one-time preparation once, however many containers use it. */
  prepare(standIn: StandIn): Promise<void> {
    let p = this.prepared.get(standIn);
    if (!p) {
      p = standIn.prepare ? standIn.prepare() : Promise.resolve();
      this.prepared.set(standIn, p);
      p.catch(() => this.prepared.delete(standIn)); // a failed build is retried by the next container
    }
    return p;
  }

  /** Every image resolved so far: what stood in for it (with the tag it ignored), or why nothing did. */
  report(): Array<{ image: string; standIn: string | null; reason?: string; notes?: string[] }> {
    return [...this.seen.values()].map((r) =>
      r.standIn
        ? { image: r.image, standIn: r.standIn.description, ...(r.standIn.notes.length ? { notes: r.standIn.notes } : {}) }
        : { image: r.image, standIn: null, reason: r.reason },
    );
  }
}

/**
 * This machine's stand-ins (Debian's PostgreSQL, PgBouncer, Redis, exporters where installed, Node.js with
 * the probe app built as its Dockerfile builds it), each version detected by running the binary.
 */
export async function detectStandIns(opts: { projectDir: string; cacheDir: string; log?: (line: string) => void }): Promise<StandIns> {
  const { entries, stackVersions } = await debianStandIns(opts);
  for (const e of entries) opts.log?.(`stand-in ${e.pattern}: ${e.standIn ? e.standIn.description : `none (${e.reason})`}`);
  return new StandIns(entries, stackVersions);
}
