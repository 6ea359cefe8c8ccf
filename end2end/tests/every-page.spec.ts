import AxeBuilder from "@axe-core/playwright";
import { Browser, expect, Page, test, TestInfo } from "@playwright/test";
import { systemAdmin } from "./accounts";
import { LoginPage } from "./pages";

// Every page Kiln serves, checked by axe (no serious or critical violations) and at a
// phone's width (nothing wider than the screen but a table's own scroll box), hydrated and
// without JavaScript.

/**
 * A page for these checks. Axe runs as a script in the page, so the "no-js" run keeps
 * JavaScript on but refuses Kiln's own scripts and wasm: the page stays as the server
 * rendered it, as with JavaScript off.
 */
async function pageFor(browser: Browser, info: TestInfo) {
  const context = await browser.newContext({ javaScriptEnabled: true, baseURL: info.project.use.baseURL });
  if (info.project.name === "no-js") await context.route(/\/pkg\/.*\.(js|wasm)$/, (route) => route.abort());
  return context.newPage();
}

const phone = { width: 360, height: 740 };

/** Axe's serious and critical findings on the page, as readable lines. */
async function violations(page: Page) {
  const found = await new AxeBuilder({ page }).analyze();
  return found.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/** Whatever sticks out past the screen's right edge (outside a scroll box of its own). */
async function overflowing(page: Page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const inScrollBox = (el: Element) => {
      for (let p = el.parentElement; p; p = p.parentElement) {
        const style = getComputedStyle(p);
        if (["auto", "scroll"].includes(style.overflowX) && p.scrollWidth > p.clientWidth) return true;
      }
      return false;
    };
    return [...document.body.querySelectorAll("*")]
      .filter((el) => {
        const box = el.getBoundingClientRect();
        return box.width > 0 && box.right > width + 1 && !inScrollBox(el);
      })
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}.${el.className} right=${Math.round(el.getBoundingClientRect().right)}`);
  });
}

/** What is wrong with the page at `path`: its heading, axe's findings, overflow at 360 px. */
async function problems(page: Page, path: string, heading: string | RegExp): Promise<string[]> {
  const found: string[] = [];
  await page.goto(path);
  const h1 = (await page.getByRole("heading", { level: 1 }).first().textContent())?.trim() ?? "";
  if (typeof heading === "string" ? h1 !== heading : !heading.test(h1)) found.push(`${path}: heading "${h1}"`);
  found.push(...(await violations(page)).map((v) => `${path}: ${v}`));
  // The dark scheme too (its colours must keep their contrast).
  await page.emulateMedia({ colorScheme: "dark" });
  found.push(...(await violations(page)).map((v) => `${path} (dark): ${v}`));
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize(phone);
  found.push(...(await overflowing(page)).map((o) => `${path} at 360 px: ${o}`));
  // The header wraps: signing out stays on the screen.
  const signOut = page.getByRole("button", { name: "Sign out" });
  if (await signOut.count()) {
    const box = await signOut.boundingBox();
    if (!box || box.x + box.width > phone.width) found.push(`${path} at 360 px: Sign out off the screen`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  return found;
}

test("every page passes axe and fits a phone's screen", async ({ browser }, info) => {
  const page = await pageFor(browser, info);
  test.setTimeout(120_000);
  const group = `pages-${info.project.name}`;
  await new LoginPage(page).open();
  // The probe itself: axe finds a button without a name planted on the page.
  await page.evaluate(() => document.body.append(document.createElement("button")));
  expect((await violations(page)).join("\n")).toContain("button-name (critical)");
  const found = await problems(page, "/login", "Sign in to Kiln");
  await new LoginPage(page).signInAs(systemAdmin);

  // Something to show: a registered image, and a custom image whose build fails at once.
  await page.goto(`/groups/${group}/images/new`);
  await page.getByLabel("Display name").fill("registered");
  await page.getByLabel("Description").fill("A long description that would push a narrow table past the edge of a phone's screen");
  await page.getByLabel("Container image url", { exact: true }).fill("registry.example.org/a/very/long/path/to/an/image:2024.10-cuda12.4-py3.11");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/groups/${group}/images$`));
  await page.goto(`/groups/${group}/images/new?tab=build`);
  const build = page.getByRole("form", { name: "Build custom image" });
  await build.getByLabel("Display name").fill("custom");
  await build.getByLabel("Base image", { exact: true }).fill("127.0.0.1:5055/base/debian:bookworm");
  await build.getByLabel("APT").fill("kiln-no-such-package");
  await build.getByRole("button", { name: "Create" }).click();
  await expect(page).toHaveURL(new RegExp(`/groups/${group}/images/custom/builds$`));

  const pages: [string, string | RegExp][] = [
    ["/launch", "Launch"],
    [`/groups/${group}/images`, "Images"],
    [`/groups/${group}/images?q=nothing-matches`, "Images"],
    [`/groups/${group}/images/new`, "New Image"],
    [`/groups/${group}/images/new?tab=build`, "New Image"],
    [`/groups/${group}/images/registered/edit`, /Edit/],
    [`/groups/${group}/images/registered/delete`, /Delete image registered/],
    [`/groups/${group}/images/registered/lifecycle`, /registered/],
    [`/groups/${group}/images/custom/builds`, /Build Details/],
    [`/groups/${group}/members`, /Members of/],
    [`/groups/${group}/audit`, /Audit log/],
    ["/admin/images", "Images"],
    ["/admin/images/new", "New Image"],
    ["/admin/credentials", /credentials/i],
    ["/admin/tokens", /tokens/i],
    ["/admin/users", "Users"],
    ["/admin/groups", "Groups"],
    ["/admin/audit", /Audit log/],
    ["/me/tokens", /tokens/i],
    ["/me/password", /password/i],
    ["/no/such/page", /404|Not found/i],
    ["/api/docs", "Kiln API reference"],
  ];
  for (const [path, heading] of pages) found.push(...(await problems(page, path, heading)));
  expect(found).toEqual([]);
});

test("a refused form marks its fields invalid for assistive technology", async ({ browser }, info) => {
  const page = await pageFor(browser, info);
  const group = `pages-${info.project.name}`;
  await new LoginPage(page).open(`/groups/${group}/images/new`);
  await new LoginPage(page).signIn(systemAdmin);
  await page.getByLabel("Display name").fill("Bad Name");
  await page.getByLabel("Container image url", { exact: true }).fill("not a url");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await expect(page.getByText(/Display name: may contain only lowercase letters/)).toBeVisible();
  await expect(page.getByLabel("Display name")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByLabel("Description")).not.toHaveAttribute("aria-invalid", "true");
  expect(await violations(page)).toEqual([]);
});

test("the colours follow the system's dark mode", async ({ browser }, info) => {
  const page = await pageFor(browser, info);
  const colours = async () =>
    page.evaluate(() => {
      const style = getComputedStyle(document.documentElement);
      return { background: style.backgroundColor, text: style.color };
    });
  await page.emulateMedia({ colorScheme: "light" });
  await page.goto("/login");
  const light = await colours();
  await page.emulateMedia({ colorScheme: "dark" });
  const dark = await colours();
  expect(light).toEqual({ background: "rgb(246, 247, 249)", text: "rgb(29, 35, 48)" });
  expect(dark).toEqual({ background: "rgb(20, 23, 28)", text: "rgb(230, 233, 239)" });
  // Form fields follow: no white box on the dark page.
  const field = await page.getByLabel("User name").evaluate((el) => getComputedStyle(el).backgroundColor);
  expect(field).toBe("rgb(20, 23, 28)");
});
