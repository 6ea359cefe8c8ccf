// Signing in with the organisation's OpenID provider: a real, certified one (npm's
// `oidc-provider`, started by playwright.config.ts from ../../oidc/provider.mjs) in front
// of a Kiln in OIDC mode (../../serve-oidc.sh). The provider's test routes change a
// user's groups, or tamper with the ID tokens it answers, as an attacker between the
// provider and Kiln would.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";

const provider = "http://127.0.0.1:3910";
const end2end = join(__dirname, "..", "..");

async function providerSays(page: Page, path: string) {
  const res = await page.request.post(`${provider}${path}`);
  expect(res.status(), path).toBe(200);
}

/** From Kiln's sign-in page through the provider's login form (any password) and back. */
async function signInAtProvider(page: Page, login: string, next?: string) {
  await page.goto(next ? `/login?next=${encodeURIComponent(next)}` : "/login");
  await page.getByRole("link", { name: "Sign in with your organisation's account" }).click();
  await expect(page).toHaveURL(new RegExp(`^${provider}/`));
  await page.locator("input[name=login]").fill(login);
  await page.locator("input[name=password]").fill("any password");
  await page.getByRole("button", { name: "Sign-in" }).click();
}

/** Runs Kiln's command line on the OIDC Kiln's database, as an operator would. */
function kiln(...args: string[]): string {
  const state = join(end2end, ".state-oidc");
  return execFileSync(join(end2end, "..", "target", "release", "kiln"), args, {
    env: { ...process.env, KILN_DATABASE_URL: `sqlite://${state}/kiln.db`, KILN_DATA_DIR: state },
    stdio: ["ignore", "pipe", "ignore"],
  })
    .toString()
    .trim();
}

test.beforeEach(async ({ page }) => {
  await providerSays(page, "/test/tamper?mode=none");
});

test("a member signs in with the provider, gets the provider's groups, and signs out there too", async ({ page }) => {
  await page.goto("/login");
  await expect(page.getByLabel("Password")).toHaveCount(0);
  await signInAtProvider(page, "ann", "/launch");
  await expect(page).toHaveURL(/\/launch$/);
  await expect(page.getByTestId("signed-in-user")).toHaveText("ann");

  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Welcome, ann" })).toBeVisible();
  await expect(page.locator("main")).toContainText("oidc-ml (member)");

  await page.getByRole("button", { name: "Sign out" }).click();
  // RP-initiated logout: the provider asks, then sends the browser back to Kiln.
  await page.getByRole("button", { name: "Yes, sign me out" }).click();
  await expect(page).toHaveURL(/127\.0\.0\.1:3901\/login/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login/);
});

test("the provider's admin group makes a system admin", async ({ page }) => {
  await signInAtProvider(page, "boss");
  await expect(page.getByTestId("signed-in-user")).toHaveText("boss");
  // A system admin manages every group: the start page opens the first one's images.
  await expect(page).toHaveURL(/\/groups\/oidc-cv\/images$/);
  await page.goto("/groups/oidc-ml/images");
  await expect(page.getByRole("heading", { name: "Images" })).toBeVisible();
});

test("a group the provider takes away goes at the next sign-in, and from a token after the TTL", async ({ page }, info) => {
  await providerSays(page, "/test/users/cam?groups=%2Foidc-ml,oidc-cv");
  await signInAtProvider(page, "cam");
  await page.goto("/");
  await expect(page.locator("main")).toContainText("oidc-cv (member)");
  await expect(page.locator("main")).toContainText("oidc-ml (member)");

  // A system admin makes cam an admin of oidc-cv in Kiln; cam's token manages its images.
  kiln("member", "add", "oidc-cv", "cam", "--admin");
  const token = kiln("token", "create", "--name", `cam-${info.project.name}`, "--scope", "read", "--user", "cam");
  const get = (path: string) => page.request.get(path, { headers: { authorization: `Bearer ${token}` } });
  const managed = await get("/api/v1/groups/oidc-cv/images");
  expect(managed.status(), await managed.text()).toBe(200);

  // The provider's admin takes cam out of oidc-cv. cam's token keeps the groups of the
  // last sign-in only for KILN_EXTERNAL_GROUPS_TTL (4 s in serve-oidc.sh), then says why.
  await providerSays(page, "/test/users/cam?groups=oidc-ml");
  await page.waitForTimeout(4_500);
  const expired = await get("/api/v1/me/launchable-images");
  expect(expired.status()).toBe(403);
  expect((await expired.json()).error.message).toContain("works again once cam signs in to Kiln");

  // At the next sign-in oidc-cv goes, and the admin role Kiln gave there with it.
  await page.context().clearCookies();
  await signInAtProvider(page, "cam");
  await page.goto("/");
  await expect(page.locator("main")).toContainText("oidc-ml (member)");
  await expect(page.locator("main")).not.toContainText("oidc-cv");
  expect((await get("/api/v1/me/launchable-images")).status()).toBe(200);
  expect((await get("/api/v1/groups/oidc-cv/images")).status()).toBe(403);
});

for (const [mode, what] of [
  ["forged", "signed with another key under the provider's key id"],
  ["unknown-key", "signed with a key the provider never published"],
  ["expired", "expired an hour ago"],
  ["issuer", "from another issuer"],
  ["audience", "meant for another client"],
]) {
  test(`an ID token ${what} signs nobody in`, async ({ page }) => {
    await providerSays(page, `/test/tamper?mode=${mode}`);
    await signInAtProvider(page, "ann");
    await expect(page).toHaveURL(/\/login\?failed=token$/);
    await expect(page.getByRole("alert")).toContainText("failed Kiln's checks");
    await page.goto("/launch");
    await expect(page).toHaveURL(/\/login/);
  });
}

test("a callback whose state this browser did not start signs nobody in", async ({ page }) => {
  // Started here, then answered with another state (a link an attacker sent).
  await page.goto("/auth/oidc/login");
  await expect(page).toHaveURL(new RegExp(`^${provider}/`));
  await page.goto("/auth/oidc/callback?code=stolen&state=not-this-browsers");
  await expect(page).toHaveURL(/\/login\?failed=state$/);
  await expect(page.getByRole("alert")).toContainText("was not started in this browser");
  // And with no sign-in started at all.
  await page.context().clearCookies();
  await page.goto("/auth/oidc/callback?code=stolen&state=anything");
  await expect(page).toHaveURL(/\/login\?failed=state$/);
  await page.goto("/launch");
  await expect(page).toHaveURL(/\/login/);
});

test("the provider rotates its signing key: Kiln fetches the new one and signs in", async ({ page }) => {
  // Kiln fetches the provider's keys again at most every 5 s; the tests before may just have.
  await page.waitForTimeout(5_500);
  await providerSays(page, "/test/tamper?mode=rotated");
  await signInAtProvider(page, "ann");
  await expect(page.getByTestId("signed-in-user")).toHaveText("ann");
});

test("someone else at the provider with a signed-in user's name is refused", async ({ page }) => {
  await signInAtProvider(page, "ann");
  await expect(page.getByTestId("signed-in-user")).toHaveText("ann");
  await page.context().clearCookies();
  await signInAtProvider(page, "mallory");
  await expect(page).toHaveURL(/\/login\?failed=taken$/);
  await expect(page.getByRole("alert")).toContainText("belongs to someone else");
});
