/**
 * Volumes laid out as the kubelet lays them out, on this machine's file system, and a ConfigMap update
 * seen from inside a running container.
 */
import { createHash } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Cluster } from "../../pods/cluster.ts";
import type { ConfigMap, Secret } from "../../pods/k8s.ts";
import { setVolumeOwnership } from "../../pods/ownership.ts";
import { mountsUnder } from "../../pods/proc.ts";
import { PodVolumes } from "../../pods/volumes.ts";
import { requireRoot, startCluster, tempDir, until, workload, removeTempDirs } from "./helpers.ts";

const cm = (data: Record<string, string>): ConfigMap => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "t" }, data });
const perm = (p: string) => (statSync(p).mode & 0o7777).toString(8);

describe("pod volumes", () => {
  beforeAll(requireRoot);
  const toTearDown: PodVolumes[] = [];
  afterAll(async () => {
    for (const v of toTearDown) await v.teardown();
  });

  async function setup(volumes: Parameters<typeof PodVolumes.setup>[0]["volumes"], objects: { cm?: ConfigMap; secret?: Secret }, fsGroup?: number) {
    const podDir = tempDir("vol");
    const store = { cm: objects.cm, secret: objects.secret };
    const v = await PodVolumes.setup({ podDir, volumes, security: { fsGroup }, objects: { configMap: () => store.cm, secret: () => store.secret }, claimDir: (c) => join(podDir, "claims", c) });
    toTearDown.push(v);
    return { v, podDir, store };
  }

  it("lays out a ConfigMap volume with a timestamped directory, ..data and one link per key, modes and fsGroup applied", async () => {
    const { v } = await setup([{ name: "c", configMap: { name: "cfg", items: [{ key: "a", path: "conf/a.ini" }, { key: "b", path: "b.txt", mode: 0o400 }], defaultMode: 0o440 } }], { cm: cm({ a: "A", b: "B", unused: "x" }) }, 2000);
    const dir = v.get("c")!.hostPath;
    expect(readdirSync(dir).sort()).toEqual(expect.arrayContaining(["..data", "b.txt", "conf"]));
    const ts = readlinkSync(join(dir, "..data"));
    expect(ts).toMatch(/^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d+$/);
    expect(readlinkSync(join(dir, "conf"))).toBe("..data/conf");
    expect(readlinkSync(join(dir, "b.txt"))).toBe("..data/b.txt");
    expect(readFileSync(join(dir, "conf", "a.ini"), "utf8")).toBe("A");
    expect(readdirSync(dir)).not.toContain("unused");
    // SetVolumeOwnership with the read-only mask: group fsGroup, g+r (and g+x, setgid on directories).
    expect([perm(join(dir, ts, "conf", "a.ini")), statSync(join(dir, ts, "conf", "a.ini")).gid]).toEqual(["440", 2000]);
    expect(perm(join(dir, ts, "b.txt"))).toBe("440");
    expect(perm(join(dir, ts))).toBe("2755");
  });

  it("takes a Secret's base64 data and stringData, on a tmpfs", async () => {
    const secret: Secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { token: Buffer.from("from-data").toString("base64") }, stringData: { pass: "from-stringData" } };
    const { v } = await setup([{ name: "s", secret: { secretName: "s" } }], { secret });
    const dir = v.get("s")!.hostPath;
    expect(readFileSync(join(dir, "token"), "utf8")).toBe("from-data");
    expect(readFileSync(join(dir, "pass"), "utf8")).toBe("from-stringData");
    expect(perm(join(dir, "..data", "pass"))).toBe("644");
    expect(mountsUnder(dir)).toEqual([dir]);
  });

  it("swaps a changed ConfigMap in atomically: a new timestamped directory, ..data renamed over, the old one and removed keys gone", async () => {
    const { v, store } = await setup([{ name: "c", configMap: { name: "cfg" } }], { cm: cm({ a: "1", gone: "x" }) });
    const dir = v.get("c")!.hostPath;
    const before = readlinkSync(join(dir, "..data"));
    expect(v.update("ConfigMap", "cfg")).toEqual([]); // unchanged data: nothing written
    store.cm = cm({ a: "2", added: "y" });
    expect(v.update("ConfigMap", "cfg")).toEqual(["c"]);
    const after = readlinkSync(join(dir, "..data"));
    expect(after).not.toBe(before);
    expect(readdirSync(dir).sort()).toEqual(["..data", after, "a", "added"].sort());
    expect(readFileSync(join(dir, "a"), "utf8")).toBe("2");
  });

  it("makes an emptyDir 0777 with group fsGroup and setgid, and a Memory one a tmpfs of its sizeLimit", async () => {
    const { v } = await setup(
      [
        { name: "disk", emptyDir: {} },
        { name: "mem", emptyDir: { medium: "Memory", sizeLimit: "8Mi" } },
      ],
      {},
      3000,
    );
    for (const name of ["disk", "mem"]) expect([perm(v.get(name)!.hostPath), statSync(v.get(name)!.hostPath).gid]).toEqual(["2777", 3000]);
    const mem = v.get("mem")!.hostPath;
    const line = readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.split(" ")[4] === mem);
    expect(line).toMatch(/ - tmpfs .*size=8192k/);
  });

  it("applies fsGroup to every file and directory of a claim, and with OnRootMismatch only when the root does not match", () => {
    const root = join(tempDir("pvc"), "data");
    mkdirSync(join(root, "pgdata", "base"), { recursive: true });
    writeFileSync(join(root, "pgdata", "PG_VERSION"), "15\n", { mode: 0o600 });
    chmodSync(join(root, "pgdata"), 0o700);
    expect(setVolumeOwnership(root, 999)).toBe(true);
    // What makes PostgreSQL refuse its data directory after a restart: 0700 became 2770.
    expect(perm(join(root, "pgdata"))).toBe("2770");
    expect(perm(join(root, "pgdata", "PG_VERSION"))).toBe("660");
    expect(statSync(join(root, "pgdata", "base")).gid).toBe(999);
    chmodSync(join(root, "pgdata"), 0o700);
    expect(setVolumeOwnership(root, 999, { policy: "OnRootMismatch" })).toBe(false);
    expect(perm(join(root, "pgdata"))).toBe("700");
    chmodSync(root, 0o755);
    expect(setVolumeOwnership(root, 999, { policy: "OnRootMismatch" })).toBe(true);
    expect(perm(join(root, "pgdata"))).toBe("2770");
    expect(lstatSync(root).gid).toBe(999);
  });
});

describe("a ConfigMap update seen from inside a container", () => {
  beforeAll(requireRoot);
  let cluster: Cluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
    removeTempDirs();
  });

  it("shows a reader the old file or the new one, never a mix, and the new one without a restart", async () => {
    const old = "a".repeat(256 * 1024);
    const next = "b".repeat(256 * 1024);
    const md5 = (s: string) => createHash("md5").update(s).digest("hex");
    // The reader hashes the file in a loop and appends each hash to an emptyDir the test reads.
    const reader = ["sh", "-c", "trap 'exit 0' TERM; while :; do md5sum < /cfg/big | cut -c1-32 >> /seen/hashes; done"];
    let runDir: string;
    ({ cluster, runDir } = await startCluster([
      cm({ big: old }),
      workload("Deployment", "reader", { containers: [{ name: "c", image: "busybox:1.36", command: reader, volumeMounts: [{ name: "cfg", mountPath: "/cfg" }, { name: "seen", mountPath: "/seen" }] }], volumes: [{ name: "cfg", configMap: { name: "cfg" } }, { name: "seen", emptyDir: {} }] }),
    ]));
    await cluster.waitReady(10_000);
    const pod = cluster.pods()[0]!;
    const hashes = async () => (await cluster!.exec(pod.name, "c", ["cat", "/seen/hashes"])).stdout.trim().split("\n");
    await until(cluster, "the reader's first hashes", 10_000, async () => (await hashes()).length > 20);
    await cluster.applyConfigMap(cm({ big: next }));
    const seen = await until(cluster, "the reader to see the new content", 10_000, async () => {
      const h = await hashes();
      return h.slice(-20).every((x) => x === md5(next)) ? h : undefined;
    });
    expect(new Set(seen)).toEqual(new Set([md5(old), md5(next)]));
    expect(cluster.pods()[0]!.containers[0]!.restarts).toBe(0);
    expect(runDir).toBeTruthy();
  });
});
