/**
 * One container, really run: its PID namespace, root file system, identity and environment as the
 * manifest asks, checked from inside with exec.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Cluster } from "../../pods/cluster.ts";
import { requireRoot, startCluster, until, workload, removeTempDirs } from "./helpers.ts";

const FOREVER = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"];

describe("a container run by the pod runner", () => {
  beforeAll(requireRoot);
  let cluster: Cluster;
  let pod: string;
  const sh = async (script: string, container = "main") => {
    const r = await cluster.exec(pod, container, ["sh", "-c", script], { timeoutMs: 10_000 });
    return r;
  };

  beforeAll(async () => {
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "creds", namespace: "t" }, data: { password: Buffer.from("s3cr3t").toString("base64") }, stringData: { user: "app" } };
    const deployment = workload("Deployment", "box", {
      securityContext: { fsGroup: 2345, supplementalGroups: [3456], runAsNonRoot: true },
      containers: [
        {
          name: "main",
          image: "busybox:1.36",
          command: FOREVER.slice(0, 2),
          args: FOREVER.slice(2),
          workingDir: "/work",
          env: [
            { name: "USER_NAME", valueFrom: { secretKeyRef: { name: "creds", key: "user" } } },
            { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } },
            { name: "URL", value: "postgres://$(USER_NAME):$(PASSWORD)@db/$(MISSING)?x=$$(USER_NAME)" },
            { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          ],
          securityContext: { runAsUser: 1234, runAsGroup: 4321, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
          volumeMounts: [{ name: "scratch", mountPath: "/work" }],
        },
        { name: "rooted", image: "busybox:1.36", command: FOREVER },
        { name: "missing", image: "example/unavailable:1", command: ["true"] },
      ],
      volumes: [{ name: "scratch", emptyDir: {} }],
    });
    ({ cluster } = await startCluster([secret, deployment]));
    await until(cluster, "the main container running", 30_000, () => cluster.pods()[0]?.containers.find((c) => c.name === "main")?.running);
    pod = cluster.pods()[0]!.name;
  });

  afterAll(async () => {
    await cluster?.stop();
    removeTempDirs();
  });

  it("runs the command as PID 1 of its own PID namespace", async () => {
    const r = await sh("tr '\\0' ' ' < /proc/1/cmdline; echo; ls /proc | grep -c '^[0-9]'");
    const [cmdline, count] = r.stdout.trim().split("\n");
    expect(cmdline!.trim()).toBe(FOREVER.join(" "));
    // PID 1, its sleep, the exec'd sh, its ls and grep: the node's processes are not visible.
    expect(Number(count)).toBeLessThan(10);
  });

  it("refuses a write to a read-only root while the mounted emptyDir accepts it", async () => {
    const r = await sh("touch /etc/pods-test 2>&1; echo root=$?; touch /work/ok && echo work=$?");
    expect(r.stdout).toMatch(/Read-only file system/);
    expect(r.stdout).toMatch(/root=1/);
    expect(r.stdout).toMatch(/work=0/);
  });

  it("has a /dev of its own (devices, shm, termination-log) and an image-like empty /tmp, read-only with the root", async () => {
    const r = await sh("ls /dev | tr '\\n' ' '; echo; echo done > /dev/termination-log && cat /dev/termination-log; ls -A /tmp | wc -l; touch /tmp/x 2>&1; head -c 4 /dev/zero | wc -c");
    const [dev, written, tmpCount, tmpWrite, zero] = r.stdout.trim().split("\n");
    for (const d of ["null", "zero", "urandom", "pts", "shm", "mqueue", "fd", "termination-log"]) expect(dev!.split(" ")).toContain(d);
    expect(dev!.split(" ")).not.toContain("sda");
    expect(written).toBe("done");
    expect(tmpCount).toBe("0");
    expect(tmpWrite).toMatch(/Read-only file system/);
    expect(zero).toBe("4");
  });

  it("runs as the requested uid and gid with fsGroup and supplementalGroups, no capabilities, no new privileges", async () => {
    const r = await sh("id -u; id -g; id -G; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; stat -c '%a %g' /work");
    const [uid, gid, groups, capEff, capBnd, nnp, workMode] = r.stdout.trim().split("\n");
    expect(uid).toBe("1234");
    expect(gid).toBe("4321");
    expect(groups!.split(" ").sort()).toEqual(["2345", "3456", "4321"]);
    expect(capEff).toMatch(/0000000000000000$/);
    expect(capBnd).toMatch(/0000000000000000$/);
    expect(nnp).toMatch(/1$/);
    expect(workMode).toBe("2777 2345"); // emptyDir: 0777, group fsGroup, setgid
  });

  it("takes env from a Secret and expands $(VAR) as Kubernetes does", async () => {
    const r = await sh('printf "%s\\n" "$USER_NAME" "$PASSWORD" "$URL" "$POD" "$HOSTNAME"');
    expect(r.stdout.trim().split("\n")).toEqual(["app", "s3cr3t", "postgres://app:s3cr3t@db/$(MISSING)?x=$(USER_NAME)", pod, pod]);
  });

  it("gives exec the container's stdin, working directory and hostname", async () => {
    const r = await cluster.exec(pod, "main", ["sh", "-c", "pwd; hostname; cat"], { stdin: "hello\n", timeoutMs: 10_000 });
    expect(r).toMatchObject({ code: 0, stdout: `/work\n${pod}\nhello\n` });
  });

  it("refuses to start a container that would run as root under runAsNonRoot", async () => {
    const c = await until(cluster, "the runAsNonRoot refusal", 10_000, () => cluster.pods()[0]?.containers.find((x) => x.name === "rooted" && x.lastError));
    expect(c.lastError).toMatch(/runAsNonRoot and image will run as root/);
    expect(c.running).toBe(false);
  });

  it("reports a container whose image has no stand-in and does not run it", async () => {
    const c = cluster.pods()[0]!.containers.find((x) => x.name === "missing")!;
    expect(c).toMatchObject({ standIn: null, reason: "no stand-in on purpose (test)", running: false });
  });
});
