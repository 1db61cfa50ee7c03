/**
 * The controllers' and the kubelet's arithmetic: rolling-update steps, names, back-off, the container
 * identity and capability set. Pure functions.
 */
import { describe, expect, it } from "vitest";
import { Backoff } from "../../pods/backoff.ts";
import { identityFor } from "../../pods/container-config.ts";
import { RunAsNonRootError } from "../../pods/errors.ts";
import { boundingSet, DEFAULT_CAPABILITIES, resolveInRoot } from "../../pods/rootfs.ts";
import { resolveFenceposts, rollingStep, safeEncodeString, templateHash } from "../../pods/rollout.ts";
import { busybox } from "./helpers.ts";

describe("rolling update arithmetic", () => {
  it("resolves maxSurge up and maxUnavailable down, and never both zero", () => {
    expect(resolveFenceposts("25%", "25%", 3)).toEqual({ surge: 1, unavailable: 0 });
    expect(resolveFenceposts(undefined, undefined, 10)).toEqual({ surge: 3, unavailable: 2 });
    expect(resolveFenceposts(0, 0, 4)).toEqual({ surge: 0, unavailable: 1 });
    expect(resolveFenceposts(1, "0%", 2)).toEqual({ surge: 1, unavailable: 0 });
  });

  it("with maxSurge 1 and maxUnavailable 0 adds one new pod, and removes an old one only when a new one is ready", () => {
    const s = { replicas: 2, surge: 1, unavailable: 0 };
    expect(rollingStep({ ...s, newPods: 0, newReady: 0, oldPods: 2, oldReady: 2 })).toEqual({ up: 1, down: 0, downUnready: 0 });
    expect(rollingStep({ ...s, newPods: 1, newReady: 0, oldPods: 2, oldReady: 2 })).toEqual({ up: 0, down: 0, downUnready: 0 });
    expect(rollingStep({ ...s, newPods: 1, newReady: 1, oldPods: 2, oldReady: 2 })).toEqual({ up: 0, down: 1, downUnready: 0 });
    expect(rollingStep({ ...s, newPods: 1, newReady: 1, oldPods: 1, oldReady: 1 })).toEqual({ up: 1, down: 0, downUnready: 0 });
    expect(rollingStep({ ...s, newPods: 2, newReady: 2, oldPods: 1, oldReady: 1 })).toEqual({ up: 0, down: 1, downUnready: 0 });
  });

  it("removes unready old pods first, even when nothing new is ready", () => {
    expect(rollingStep({ replicas: 3, surge: 1, unavailable: 1, newPods: 1, newReady: 0, oldPods: 3, oldReady: 2 })).toMatchObject({ downUnready: 1 });
  });

  it("hashes equal templates equally whatever their key order, in the name generator's alphabet", () => {
    expect(templateHash({ a: 1, b: { c: 2 } })).toBe(templateHash({ b: { c: 2 }, a: 1 }));
    expect(templateHash({ a: 1 })).not.toBe(templateHash({ a: 2 }));
    expect(safeEncodeString("3473640553")).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
  });
});

describe("the kubelet's restart back-off", () => {
  it("restarts at once the first time, then waits 10 s doubling to 300 s, and forgets after ten quiet minutes", () => {
    const b = new Backoff();
    let t = 0;
    expect(b.waitFor(t, t)).toBe(0);
    t += 1000;
    expect(b.waitFor(t, t)).toBe(10_000);
    t += 11_000;
    expect(b.waitFor(t, t)).toBe(20_000);
    for (let i = 0; i < 6; i++) b.waitFor((t += 1000), t);
    expect(b.waitFor((t += 1000), t)).toBe(300_000);
    t += 700_000;
    expect(b.waitFor(t, t)).toBe(0);
  });
});

describe("container identity", () => {
  const pod = { containers: [] };
  it("takes the container's securityContext over the pod's over the image's USER, and the gid from the image's passwd", () => {
    const img = { ...busybox(), user: { uid: 1000, gid: 1000 } };
    expect(identityFor({ name: "c", image: "x" }, pod, img, "p")).toMatchObject({ uid: 1000, gid: 1000, groups: [] });
    expect(identityFor({ name: "c", image: "x", securityContext: { runAsUser: 65534 } }, { ...pod, securityContext: { runAsUser: 5, fsGroup: 7 } }, img, "p")).toMatchObject({ uid: 65534, gid: 65534, groups: [7] });
  });

  it("refuses runAsNonRoot when the image would run as root", () => {
    expect(() => identityFor({ name: "c", image: "x" }, { ...pod, securityContext: { runAsNonRoot: true } }, busybox(), "p")).toThrow(RunAsNonRootError);
  });

  it("builds the bounding set from containerd's defaults, ALL first, then add and drop", () => {
    expect(boundingSet(undefined)).toEqual(DEFAULT_CAPABILITIES);
    expect(boundingSet({ drop: ["ALL"] })).toEqual([]);
    expect(boundingSet({ drop: ["ALL"], add: ["NET_BIND_SERVICE"] })).toEqual(["net_bind_service"]);
    expect(boundingSet({ drop: ["CAP_NET_RAW"] })).not.toContain("net_raw");
  });

  it("resolves mount targets inside the root, never through an absolute symlink to this machine's path", () => {
    // Debian's /var/run is a symlink to /run: the container's /var/run/x is its own /run/x.
    expect(resolveInRoot("/var/run/postgresql")).toBe("/run/postgresql");
    expect(resolveInRoot("/a/../../etc/./hosts")).toBe("/etc/hosts");
  });
});
