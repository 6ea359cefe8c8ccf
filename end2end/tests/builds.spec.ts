import { execSync } from "node:child_process";
import { expect, Locator, Page, test } from "@playwright/test";
import { demoAccount } from "./accounts";
import { LoginPage } from "./pages";

// Real builds: buildah on this machine pushes to the loopback registry of
// scripts/build-env.sh (serve.sh starts it), from a Debian base image held there.
const base = "127.0.0.1:5055/base/debian:bookworm";

// Real builds reach Debian's mirrors and PyPI from inside buildah: a network hiccup can
// fail one. A second attempt (under new image names) tells that apart from a defect; the
// report marks such a test "flaky".
test.describe.configure({ timeout: 600_000, retries: 1 });

/**
 * Waits until the Build Details page shows `state`, reloading it as a watching admin would.
 * A build that ended in another state (seen after two reloads, so not the page of the
 * previous build) fails the test at once, with its status and the log's end.
 */
async function waitForState(page: Page, state: RegExp) {
  const status = page.getByTestId("build-state").first();
  for (let i = 0; i < 300; i++) {
    const text = (await status.textContent()) ?? "";
    if (state.test(text)) return;
    if (i >= 2 && /succeeded|failed|cancelled/.test(text)) {
      const log = await page.getByTestId("build-log").first().textContent({ timeout: 2000 }).catch(() => "");
      throw new Error(`waiting for ${state}, the build ended: ${text}\n--- log tail ---\n${(log ?? "").slice(-3000)}`);
    }
    await page.waitForTimeout(1000);
    await page.reload();
  }
  await expect(status).toContainText(state);
}

test("a group admin builds a custom image, watches it, cancels one build and rebuilds", async ({ page }, info) => {
  const hydrated = info.project.name === "hydrated";
  // Groups of their own: the catalog spec expects its groups to start empty.
  const group = `team-${info.project.name}-builds`;
  const display = info.retry ? `tools${info.retry}.cli` : "tools.cli";
  const image = display.replace(".", "-");
  // This image's row of the Images table (an earlier attempt's image may be listed too).
  const row = page.getByRole("row").filter({ hasText: display });
  await new LoginPage(page).open();
  await new LoginPage(page).signIn(demoAccount("demo-admin"));

  await page.goto(`/groups/${group}/images/new?tab=build`);
  const form = page.getByRole("form", { name: "Build custom image" });
  await form.getByLabel("Display name").fill(display);
  await form.getByLabel("Base image", { exact: true }).fill(base);
  await form.getByLabel("APT").fill("hello\nNot A Package");
  if (hydrated) {
    // Checked while typing, by the server's parsers.
    await expect(page.getByRole("alert").filter({ hasText: "APT line 2" })).toBeVisible();
  }
  await form.getByRole("button", { name: "Create" }).click();
  // Refused with the box, the line and the reason; nothing was created.
  await expect(page.getByRole("alert").filter({ hasText: "APT line 2" })).toBeVisible();
  await page.goto(`/groups/${group}/images/new?tab=build`);
  await form.getByLabel("Display name").fill(display);
  await form.getByLabel("Base image", { exact: true }).fill(base);
  await form.getByLabel("APT").fill("hello");
  await form.getByRole("button", { name: "Create" }).click();

  await expect(page).toHaveURL(new RegExp(`/groups/${group}/images/${image}/builds$`));
  await expect(page.getByRole("heading", { name: `Build Details: ${display}` })).toBeVisible();
  if (hydrated) {
    // The log streams in while the build runs.
    await expect(page.getByTestId("build-log")).toContainText("STEP 1/11", { timeout: 120_000 });
    await expect(page.getByTestId("build-progress")).toContainText(/Step ([1-9]|1[01]) of 11/);
  }
  await waitForState(page, /succeeded/);
  await expect(page.getByTestId("build-log")).toContainText("[kiln] pushed");
  // What it costs to pull, read from the registry after the push (a Debian with python3).
  await expect(page.getByTestId("build-size")).toHaveText(/^Compressed size: \d+(\.\d+)? MB$/);

  // The list marks it and shows the same size; a slow rebuild shows the triangle, and is
  // cancelled.
  await page.goto(`/groups/${group}/images`);
  await expect(row.getByRole("link", { name: "View build details" })).toBeVisible();
  await expect(row.getByTestId("image-size")).toHaveText(/^\d+(\.\d+)? MB$/);
  await page.goto(`/groups/${group}/images/${image}/builds`);
  const rebuild = page.getByRole("form", { name: "Rebuild" });
  await rebuild.getByLabel("APT").fill("hello\nbuild-essential");
  await rebuild.getByRole("button", { name: "Rebuild" }).click();
  await page.goto(`/groups/${group}/images`);
  await expect(row.getByRole("link", { name: /Image building in progress/ })).toBeVisible();
  await row.getByRole("link", { name: /Image building in progress/ }).click();
  await waitForState(page, /Image building in progress/);
  await page.getByRole("button", { name: "Cancel Build" }).click();
  await waitForState(page, /cancelled/);
  await expect(page.getByTestId("build-log")).toContainText("STEP");

  // Rebuild with an edited spec: a new revision that succeeds; history lists all three.
  await rebuild.getByLabel("Pip").fill("six==1.16.0");
  await rebuild.getByLabel("APT").fill("hello");
  await rebuild.getByRole("button", { name: "Rebuild" }).click();
  if (hydrated) {
    // The Images table follows the build without a reload: the triangle, then done.
    await page.goto(`/groups/${group}/images`);
    const marker = row.getByTestId("build-marker");
    await expect(marker).toHaveText(/Image building in progress|View build details/);
    await expect(marker).toHaveText("View build details", { timeout: 300_000 });
    await page.goto(`/groups/${group}/images/${image}/builds`);
  }
  await waitForState(page, /Build 3: succeeded/);
  const history = page.getByRole("table").last();
  await expect(history.locator("tbody tr")).toHaveCount(3);
  await expect(history).toContainText("cancelled");
  await expect(page.locator(".build-status__installed")).toContainText("pip six==1.16.0");
});

/** Runs buildah/skopeo commands with this host's storage, as scripts/build-env.sh does. */
function registryScript(script: string) {
  execSync(script, {
    env: { ...process.env, STORAGE_DRIVER: "vfs", BUILDAH_ISOLATION: "chroot" },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/**
 * Pushes a new image under the tag `image` (one more label: another digest), as a base
 * image's maintainers do when they ship a security fix under the same tag.
 */
function pushFixUnder(image: string) {
  const local = `kiln-e2e-fix-${Date.now().toString(36)}`;
  registryScript(
    `set -e; c=$(buildah from --quiet --tls-verify=false docker://${image}); ` +
      `buildah config --label io.kiln.e2e.fix=${local} $c; ` +
      `buildah commit --quiet --rm $c ${local} >/dev/null; ` +
      `buildah push --quiet --tls-verify=false ${local} docker://${image}; ` +
      `buildah rmi -f ${local} >/dev/null`,
  );
}

/** Clicks a Build Details button whose form calls `endpoint`, then reloads the page. */
async function submit(page: Page, button: Locator, endpoint: string) {
  const answered = page.waitForResponse((r) => r.url().endsWith(`/api/${endpoint}`));
  await button.click();
  await answered;
  // Without JavaScript the browser is still following the form's redirect: a reload may
  // meet that navigation, so it is tried until one goes through.
  await expect(async () => {
    await page.reload();
  }).toPass({ timeout: 15_000 });
}

test("a group admin sees that the base image was updated, rebuilds in one click, then lets Kiln rebuild by itself", async ({ page }, info) => {
  const group = `team-${info.project.name}-builds`;
  const display = `based.${info.project.name}${info.retry || ""}`;
  const image = display.replace(".", "-");
  // A base image tag of this test's own, which it moves.
  const moving = `127.0.0.1:5055/base/debian-moving-${image}-${Date.now().toString(36)}:stable`;
  registryScript(`skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false docker://${base} docker://${moving}`);
  await new LoginPage(page).open();
  await new LoginPage(page).signIn(demoAccount("demo-admin"));
  await page.goto(`/groups/${group}/images/new?tab=build`);
  const form = page.getByRole("form", { name: "Build custom image" });
  await form.getByLabel("Display name").fill(display);
  await form.getByLabel("Base image", { exact: true }).fill(moving);
  await form.getByLabel("APT").fill("hello");
  await form.getByRole("button", { name: "Create" }).click();
  await expect(page).toHaveURL(new RegExp(`/groups/${group}/images/${image}/builds$`));
  await waitForState(page, /Build 1: succeeded/);

  const card = page.getByTestId("base-image");
  const check = card.getByRole("button", { name: "Check the base image now" });
  const notice = page.getByTestId("base-updated-notice");
  await expect(card).toContainText(moving);
  await expect(page.getByTestId("base-checked")).toHaveText("never");
  await submit(page, check, "check_base_image");
  await expect(page.getByTestId("base-checked")).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d/);
  await expect(notice).toHaveCount(0);

  // A fix under the same tag: the check notices it, and the list marks the image.
  pushFixUnder(moving);
  await submit(page, check, "check_base_image");
  await expect(notice).toContainText(`The base image ${moving} now names a newer image (sha256:`);
  await page.goto(`/groups/${group}/images`);
  const row = page.getByRole("row").filter({ hasText: display });
  await expect(row.getByTestId("base-updated")).toHaveText("◆ Base image updated");
  const firstUrl = await page.request
    .get(`/api/v1/groups/${group}/images/${image}`)
    .then(async (r) => (await r.json()).url as string);

  // One click rebuilds on the new base; the mark goes once it succeeds.
  await row.getByTestId("base-updated").click();
  await submit(page, page.getByRole("button", { name: "Rebuild on the updated base image" }), "rebuild_on_new_base");
  await waitForState(page, /Build 2: succeeded/);
  await expect(notice).toHaveCount(0);
  await page.goto(`/groups/${group}/images`);
  await expect(row.getByTestId("base-updated")).toHaveCount(0);

  // Automatic from now on: the next fix is rebuilt by Kiln itself, and the URL moves.
  await row.getByRole("link", { name: "View build details" }).click();
  const auto = page.getByRole("form", { name: "Rebuild automatically when the base image changes" });
  await auto.getByLabel("Rebuild automatically when the base image changes").check();
  await submit(page, auto.getByRole("button", { name: "Save" }), "set_auto_rebuild");
  await expect(auto.getByLabel("Rebuild automatically when the base image changes")).toBeChecked();
  pushFixUnder(moving);
  await submit(page, check, "check_base_image");
  await waitForState(page, /Build 3: succeeded/);
  await expect(page.getByRole("table").last().locator("tbody tr").first()).toContainText("kiln:base-image-updated");
  const lastUrl = await page.request
    .get(`/api/v1/groups/${group}/images/${image}`)
    .then(async (r) => (await r.json()).url as string);
  expect(lastUrl).not.toEqual(firstUrl);
  await expect(page.locator(".facts").first()).toContainText(lastUrl);
  await expect(notice).toHaveCount(0);
});
