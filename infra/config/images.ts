/**
 * Every container image the stack deploys, pinned to a patch release whose tag its publisher's own
 * material shows exists. A version with no known tag is a config problem, reported before anything is
 * rendered, instead of an ErrImagePull after `pulumi up`.
 *
 * Where each tag was established (repository, file or tag, commit):
 * - postgres: docker-library/official-images `library/postgres` @ 37079fb (entries `17.11-bookworm`,
 *   `16.15-bookworm`, `15.19-bookworm`, added in 62e3678). The image's uid 999 and
 *   `ENV PATH $PATH:/usr/lib/postgresql/$PG_MAJOR/bin`: docker-library/postgres `17/bookworm/Dockerfile`.
 * - redis: docker-library/official-images `library/redis` @ 37079fb (`7.4.11-bookworm`, `7.2.16-bookworm`,
 *   `8.2.9-bookworm`). uid 999, binaries in /usr/local/bin: redis/docker-library-redis `7.4/debian/Dockerfile`.
 * - edoburu/pgbouncer: edoburu/docker-pgbouncer. Tags are `vX.Y.Z-pN` since 1.19 (Makefile @ e028a1d:
 *   `$(IMAGE_VERSION)-$(PATCH_NUMBER)`); 1.18 was pushed as a bare `1.18.0` (Makefile @ e10d922). Each tag:
 *   1.18.0 (Makefile @ e10d922), v1.19.1-p0 (Makefile @ 689a515), v1.22.0-p0 (issue #92), v1.23.1-p3 (git
 *   tag, 078df15), v1.24.1-p1 (git tag, 54ca05c), v1.25.2-p0 (PR #129, git tag 0ac4ce5). No tag could be
 *   established for 1.20 or 1.21, so those versions are refused. The image runs as Alpine's postgres
 *   (uid 70), has psql and pg_isready (`apk add postgresql-client`) and /usr/bin/pgbouncer (Dockerfile).
 * - exporters: git tags and CHANGELOGs of prometheus-community/postgres_exporter (v0.17.1, 1e574cf),
 *   prometheus-community/pgbouncer_exporter (v0.10.2, decd013), oliver006/redis_exporter (v1.67.0, e2bb7fd;
 *   its release workflow pushes the git tag). Their binaries: /bin/postgres_exporter, /bin/pgbouncer_exporter
 *   (both `USER nobody`), /redis_exporter (`USER 59000:59000`), from each Dockerfile at that tag.
 */
import type { ParsedStackConfig } from "./schema.ts";

/** PostgreSQL major → the newest bookworm patch release tag. */
export const POSTGRES_IMAGE_TAGS: Readonly<Record<string, string>> = { "15": "15.19-bookworm", "16": "16.15-bookworm", "17": "17.11-bookworm" };
/** Redis minor → the newest bookworm patch release tag. */
export const REDIS_IMAGE_TAGS: Readonly<Record<string, string>> = { "7.2": "7.2.16-bookworm", "7.4": "7.4.11-bookworm", "8.2": "8.2.9-bookworm" };
/** PgBouncer minor → the edoburu/pgbouncer tag of its newest packaged patch release. */
export const PGBOUNCER_IMAGE_TAGS: Readonly<Record<string, string>> = {
  "1.18": "1.18.0",
  "1.19": "v1.19.1-p0",
  "1.22": "v1.22.0-p0",
  "1.23": "v1.23.1-p3",
  "1.24": "v1.24.1-p1",
  "1.25": "v1.25.2-p0",
};

export const EXPORTER_IMAGES = {
  postgres: "quay.io/prometheuscommunity/postgres-exporter:v0.17.1",
  pgbouncer: "quay.io/prometheuscommunity/pgbouncer-exporter:v0.10.2",
  redis: "oliver006/redis_exporter:v1.67.0",
} as const;

/** Where each exporter image keeps its binary (its ENTRYPOINT), so the manifest can name it as `command`. */
export const EXPORTER_BINARIES = { postgres: "/bin/postgres_exporter", pgbouncer: "/bin/pgbouncer_exporter", redis: "/redis_exporter" } as const;

/** "17" or "17.11" → "17"; "1.24.1" → "1.24": the key a tag table is indexed by. */
function series(version: string, parts: number): string {
  return version.split(".").slice(0, parts).join(".");
}

function lookup(table: Readonly<Record<string, string>>, version: string, parts: number): string | undefined {
  const tag = table[series(version, parts)];
  // An exact release pins itself, but only the one the table knows: an older patch may not be published.
  if (tag === undefined || version.split(".").length <= parts) return tag;
  return tag.replace(/^v/, "").startsWith(`${version}-`) || tag.replace(/^v/, "") === version ? tag : undefined;
}

export interface ImageRefs {
  postgres: string;
  redis: string;
  pgbouncer: string;
}

/** Each server's image repository, its tag table, and how many version parts index that table. */
const SERVERS = {
  postgres: { repository: "postgres", table: POSTGRES_IMAGE_TAGS, parts: 1 },
  redis: { repository: "redis", table: REDIS_IMAGE_TAGS, parts: 2 },
  pgbouncer: { repository: "edoburu/pgbouncer", table: PGBOUNCER_IMAGE_TAGS, parts: 2 },
} as const;
type Server = keyof typeof SERVERS;

function imageOf(server: Server, version: string): string | undefined {
  const { repository, table, parts } = SERVERS[server];
  const tag = lookup(table, version, parts);
  return tag === undefined ? undefined : `${repository}:${tag}`;
}

/** The image of each server for the configured versions; undefined where no published tag is known. */
export function serverImages(cfg: Pick<ParsedStackConfig, "postgres" | "redis" | "pgbouncer">): { [K in keyof ImageRefs]: string | undefined } {
  return { postgres: imageOf("postgres", cfg.postgres.version), redis: imageOf("redis", cfg.redis.version), pgbouncer: imageOf("pgbouncer", cfg.pgbouncer.version) };
}

/** One problem per server whose version has no pinned, published image; servers absent from `versions` are skipped. */
export function imageProblems(versions: Partial<Record<keyof ImageRefs, string>>): Array<{ key: string; value: unknown; message: string }> {
  return (Object.keys(SERVERS) as Server[]).flatMap((server) => {
    const version = versions[server];
    const { table, parts } = SERVERS[server];
    if (version === undefined || imageOf(server, version) !== undefined) return [];
    const known = Object.entries(table).map(([v, t]) => (parts === 1 ? v : `${v} (${t})`));
    return [
      {
        key: `pooling:${server}.version`,
        value: version,
        message: `no published image is pinned for this version. Use one of ${known.join(", ")}; see infra/config/images.ts for where each tag was established.`,
      },
    ];
  });
}
