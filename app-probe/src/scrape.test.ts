import { describe, expect, it } from "vitest";
import { CachedScrape } from "./scrape.ts";

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("CachedScrape", () => {
  it("fetches at most once per interval however many callers ask", async () => {
    const c = clock();
    let calls = 0;
    const scrape = new CachedScrape(async () => ++calls, 5000, String, c.now);
    await Promise.all([scrape.get(), scrape.get(), scrape.get()]);
    await scrape.get();
    expect(calls).toBe(1);
    c.advance(5000);
    expect(await scrape.get()).toMatchObject({ ok: true, data: 2 });
  });

  it("reports a failed fetch as a failure and keeps the last good figures beside it, never zeros", async () => {
    const c = clock();
    let fail = false;
    const scrape = new CachedScrape(
      async () => {
        if (fail) throw new Error("connection refused");
        return { active: 7 };
      },
      1000,
      (e) => (e as Error).message,
      c.now,
    );
    await scrape.get();
    fail = true;
    c.advance(1000);
    const failed = await scrape.get();
    expect(failed).toMatchObject({ ok: false, error: "connection refused", last: { data: { active: 7 } } });
    c.advance(1000);
    expect(await scrape.get()).toMatchObject({ ok: false, last: { data: { active: 7 } } });
  });

  it("has no last figures when it never succeeded", async () => {
    const scrape = new CachedScrape(async () => Promise.reject(new Error("down")), 1000, (e) => (e as Error).message);
    expect(await scrape.get()).toEqual({ ok: false, at: expect.any(String), error: "down", last: undefined });
  });
});
