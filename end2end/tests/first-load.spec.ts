import { CDPSession, expect, Page, test } from "@playwright/test";
import { demoAccount } from "./accounts";
import { ImagesPage, LoginPage } from "./pages";

// The first load of the Images page with an empty browser cache: what crosses the network
// (compressed) against what the browser decoded, the wasm, JS and CSS named by their hash and
// cached for a year, and a second load that takes them from the cache. The figures are
// printed (and kept as the test's annotations): `cd end2end && npx playwright test
// tests/first-load.spec.ts --project=hydrated`.

/** One request as the browser's network log (Chrome DevTools Protocol) saw it. */
interface Fetch {
  url: string;
  status: number;
  headers: Record<string, string>;
  /** Served from the browser's memory or disk cache, not the network. */
  fromCache: boolean;
  /** Bytes received over the network: headers and the body as sent (compressed). */
  transferred: number;
  /** The body's bytes once decoded. */
  decoded: number;
  /** Cancelled or failed (with JavaScript off, the browser drops the script's preload). */
  failed: boolean;
}

/** Records every request of the page until `take` is called; `take` returns them and starts afresh. */
async function networkLog(cdp: CDPSession) {
  let log = new Map<string, Fetch>();
  const of = (id: string) => {
    let fetch = log.get(id);
    if (!fetch) {
      fetch = { url: "", status: 0, headers: {}, fromCache: false, transferred: 0, decoded: 0, failed: false };
      log.set(id, fetch);
    }
    return fetch;
  };
  cdp.on("Network.requestWillBeSent", (e) => {
    of(e.requestId).url = e.request.url;
  });
  cdp.on("Network.requestServedFromCache", (e) => {
    of(e.requestId).fromCache = true;
  });
  cdp.on("Network.responseReceived", (e) => {
    const fetch = of(e.requestId);
    fetch.url = e.response.url;
    fetch.status = e.response.status;
    fetch.headers = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), `${v}`]));
    if (e.response.fromDiskCache || e.response.fromPrefetchCache) fetch.fromCache = true;
  });
  cdp.on("Network.dataReceived", (e) => {
    of(e.requestId).decoded += e.dataLength;
  });
  cdp.on("Network.loadingFinished", (e) => {
    of(e.requestId).transferred = e.encodedDataLength;
  });
  cdp.on("Network.loadingFailed", (e) => {
    of(e.requestId).failed = true;
  });
  await cdp.send("Network.enable");
  return {
    take(): Fetch[] {
      const fetches = [...log.values()].filter((f) => f.url.startsWith("http") && !f.failed);
      log = new Map();
      return fetches;
    },
  };
}

/** Opens `path` and waits until the page is whole: loaded, and hydrated when scripts run. */
async function load(page: Page, path: string, hydrated: boolean) {
  await page.goto(path, { waitUntil: "load" });
  await new ImagesPage(page).expectGroup("demo");
  if (hydrated) await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
  await page.waitForLoadState("networkidle");
}

const sum = (fetches: Fetch[], key: "transferred" | "decoded") => fetches.reduce((n, f) => n + f[key], 0);
const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;
const isPkg = (f: Fetch) => new URL(f.url).pathname.startsWith("/pkg/");

test("the Images page's first load is compressed, its files hashed and cached, and a second load fetches none of them", async ({
  page,
}, info) => {
  const hydrated = info.project.name === "hydrated";
  await new LoginPage(page).open();
  await new LoginPage(page).signInAs(demoAccount("demo-admin"));
  const path = "/groups/demo/images";

  // Cold: nothing in the browser's cache (signing in filled it).
  const cdp = await page.context().newCDPSession(page);
  const network = await networkLog(cdp);
  await cdp.send("Network.clearBrowserCache");
  await page.goto("about:blank");
  network.take();
  await load(page, path, hydrated);
  const first = network.take();

  const lines = first.map(
    (f) =>
      `  ${new URL(f.url).pathname}: ${kb(f.transferred)} transferred (${f.headers["content-encoding"] ?? "not compressed"}), ${kb(f.decoded)} decoded`,
  );
  const transferred = sum(first, "transferred");
  const decoded = sum(first, "decoded");
  const summary = `first load of ${path} (${info.project.name}): ${kb(transferred)} transferred, ${kb(decoded)} uncompressed`;
  console.log([summary, ...lines].join("\n"));
  info.annotations.push({ type: "first load", description: summary });

  // The page, then its stylesheet (and, hydrated, its script and wasm): all fetched over the
  // network, compressed, the page asked for again each time and the files named by their
  // content's hash and kept for a year.
  const html = first.find((f) => new URL(f.url).pathname === path);
  expect(html, lines.join("\n")).toBeDefined();
  expect(html!.headers["content-encoding"]).toMatch(/^(br|gzip)$/);
  expect(html!.headers["cache-control"]).toBe("private, no-cache");
  const files = first.filter(isPkg);
  const kinds = new Set(files.map((f) => new URL(f.url).pathname.split(".").pop()));
  if (hydrated) expect(kinds).toEqual(new Set(["css", "js", "wasm"]));
  else expect(kinds).toContain("css");
  for (const file of files) {
    const name = new URL(file.url).pathname;
    expect(name).toMatch(/^\/pkg\/kiln\.[A-Za-z0-9_-]{22}\.(css|js|wasm)$/);
    expect(file.status, name).toBe(200);
    expect(file.fromCache, `${name} came from the cache on a cold load`).toBe(false);
    expect(file.headers["cache-control"], name).toBe("public, max-age=31536000, immutable");
    expect(file.headers["content-encoding"], name).toMatch(/^(br|gzip)$/);
  }
  // Compression at least halves what the first load costs.
  expect(transferred).toBeLessThan(decoded / 2);

  // A second visit: the page again, every file from the browser's cache.
  await page.goto("about:blank");
  network.take();
  await load(page, path, hydrated);
  const second = network.take();
  const fetched = second.filter((f) => isPkg(f) && !f.fromCache && f.transferred > 0).map((f) => f.url);
  const again = `second load of ${path} (${info.project.name}): ${kb(sum(second, "transferred"))} transferred, ${
    second.filter((f) => isPkg(f) && f.fromCache).length
  } files from the browser's cache`;
  console.log(again);
  info.annotations.push({ type: "second load", description: again });
  expect(fetched, "files fetched again over the network").toEqual([]);
  if (hydrated) expect(await page.locator("body[data-hydrated]").count()).toBe(1);
});
