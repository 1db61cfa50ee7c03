import { describe, expect, test } from "vitest";
import { formatDuration, formatSize, parseDuration, parseSize } from "../../infra/config/index.ts";

describe("parseDuration", () => {
  test.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["10m", 600_000],
    ["10min", 600_000],
    ["1h", 3_600_000],
    ["2d", 172_800_000],
    ["0s", 0],
    ["0ms", 0],
  ])("reads %s as %i milliseconds", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test("reads a fraction of a second as whole milliseconds", () => {
    expect(parseDuration("1.5s")).toBe(1500);
  });

  test("reads a fraction of a minute as whole milliseconds", () => {
    expect(parseDuration("0.5m")).toBe(30_000);
  });

  test("refuses a fraction that is not a whole number of milliseconds", () => {
    expect(parseDuration("1.5ms")).toBeUndefined();
  });

  test("ignores surrounding whitespace", () => {
    expect(parseDuration(" 30s ")).toBe(30_000);
  });

  test.each(["10", "-1s", "1 s", "", "s", "1.s", ".5s", "30S", "30sec", "1e3s", "+1s", "1h30m", "Infinitys", "NaNs"])(
    "refuses %j",
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );

  test("refuses a duration too large to be a finite number", () => {
    expect(parseDuration(`${"9".repeat(400)}s`)).toBeUndefined();
  });
});

describe("parseSize", () => {
  test.each([
    ["17B", 17],
    ["512kB", 512 * 1024],
    ["512KB", 512 * 1024],
    ["4Ki", 4096],
    ["4MB", 4 * 1024 ** 2],
    ["256Mi", 256 * 1024 ** 2],
    ["1GB", 1024 ** 3],
    ["1Gi", 1024 ** 3],
    ["2TB", 2 * 1024 ** 4],
    ["2Ti", 2 * 1024 ** 4],
    ["0B", 0],
  ])("reads %s as %i bytes", (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  test("treats MB and Mi as the same binary unit, as PostgreSQL does", () => {
    expect(parseSize("4MB")).toBe(parseSize("4Mi"));
  });

  test.each(["10", "1.5Gi", "-1Mi", "4 MB", "4mb", "4M", "4G", "1Gib", "", "Mi", "0x10Mi"])("refuses %j", (text) => {
    expect(parseSize(text)).toBeUndefined();
  });

  test("refuses a size above the largest safe integer number of bytes", () => {
    expect(parseSize("9000000Ti")).toBeUndefined();
  });

  test("accepts the largest size that is still a safe integer number of bytes", () => {
    expect(parseSize("8191Ti")).toBe(8191 * 1024 ** 4);
  });
});

describe("formatDuration", () => {
  test.each([
    [0, "0s"],
    [1, "1ms"],
    [1500, "1500ms"],
    [30_000, "30s"],
    [90_000, "90s"],
    [60_000, "1m"],
    [600_000, "10m"],
    [3_600_000, "1h"],
    [86_400_000, "1d"],
    [90 * 86_400_000, "90d"],
  ])("writes %i ms as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  test("writes a duration that parseDuration reads back to the same milliseconds", () => {
    for (const ms of [0, 1, 999, 1000, 1500, 59_999, 60_000, 61_000, 3_600_000, 3_660_000, 86_400_000]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});

describe("formatSize", () => {
  test.each([
    [0, "0B"],
    [17, "17B"],
    [1024, "1Ki"],
    [1536, "1536B"],
    [4096, "4Ki"],
    [4 * 1024 ** 2, "4Mi"],
    [256 * 1024 ** 2, "256Mi"],
    [1024 ** 3, "1Gi"],
    [1024 ** 4, "1024Gi"],
    [1.5 * 1024 ** 3, "1536Mi"],
  ])("writes %i bytes as %s", (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });

  test("writes a size that parseSize reads back to the same bytes", () => {
    for (const bytes of [0, 1, 1023, 1024, 1025, 8192, 4 * 1024 ** 2, 3 * 1024 ** 3, 5 * 1024 ** 4]) {
      expect(parseSize(formatSize(bytes))).toBe(bytes);
    }
  });
});
