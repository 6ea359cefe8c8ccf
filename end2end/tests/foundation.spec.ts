import { expect, test } from "@playwright/test";
import { demoAccount, loner, otherAdmin } from "./accounts";
import { ImagesPage, LoginPage, TopBar } from "./pages";

test("the demo group admin signs in, sees the group's images and switches groups", async ({ page }) => {
  const login = new LoginPage(page);
  await login.open();
  await login.signIn(demoAccount("demo-admin"));

  await expect(page).toHaveURL(/\/groups\/demo\/images$/);
  const images = new ImagesPage(page);
  await images.expectGroup("demo");
  await expect(page.getByText("No images in this group yet.")).toBeVisible();
  const bar = new TopBar(page);
  await expect(bar.signedInUser()).toHaveText("demo-admin");

  await bar.switchTo("sandbox");
  await expect(page).toHaveURL(/\/groups\/sandbox\/images$/);
  await images.expectGroup("sandbox");
  await expect(page.getByTestId("current-group")).toHaveText("sandbox");

  await bar.signOut();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/groups/demo/images");
  await expect(page).toHaveURL(/\/login\?next=%2Fgroups%2Fdemo%2Fimages|\/login\?next=\/groups\/demo\/images/);
});

test("after hydration the image form answers while typing, without reloading the page", async ({ page }, info) => {
  test.skip(info.project.name === "no-js", "needs the hydrated app");
  await new LoginPage(page).open();
  await new LoginPage(page).signIn(demoAccount("demo-admin"));
  await new ImagesPage(page).expectGroup("demo");
  await page.goto("/groups/demo/images/new");
  // The wasm bundle marks the body once the page's islands have come to life.
  await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
  await page.evaluate(() => ((window as any).kilnMarker = "still here"));

  await page.getByLabel("Display name").fill("torch.2");
  await expect(page.getByLabel("Image name")).toHaveValue("torch-2");
  await page.getByLabel("Display name").fill("Torch 2");
  await expect(page.getByText(/^Display name: /)).toBeVisible();

  const gpu = page.getByLabel(/Use a different image on GPU/);
  await expect(gpu).toBeHidden();
  await page.getByLabel("Type", { exact: true }).selectOption("universal");
  await expect(gpu).toBeVisible();
  expect(await page.evaluate(() => (window as any).kilnMarker)).toBe("still here");
});

test("a member is refused the admin page with a clear message", async ({ page }) => {
  const login = new LoginPage(page);
  await login.open();
  await login.signIn(demoAccount("demo-member"));
  await expect(page.getByRole("heading", { name: "Welcome, demo-member" })).toBeVisible();

  const response = await page.goto("/groups/demo/images");
  expect(response?.status()).toBe(403);
  await expect(page.getByRole("alert")).toHaveText(
    "Only the group admins of group demo can manage its images. You are a member; ask one of its admins.",
  );
});

test("an admin of another group gets 403 on the group's page", async ({ page }) => {
  const login = new LoginPage(page);
  await login.open();
  await login.signIn(otherAdmin);
  await new ImagesPage(page).expectGroup("other");

  const response = await page.goto("/groups/demo/images");
  expect(response?.status()).toBe(403);
  await expect(page.getByRole("alert")).toHaveText("You are not a member of group demo.");
  await expect(page.locator(".switcher__menu a")).toHaveText(["other"]);
});

test("a wrong password shows an error and signs nobody in", async ({ page }) => {
  const login = new LoginPage(page);
  await login.open();
  await login.signIn({ user: loner.user, password: "not-the-password" });
  await expect(login.error()).toHaveText("Wrong user name or password.");
  await expect(page.getByTestId("signed-in-user")).toHaveCount(0);

  await login.signIn(loner);
  await expect(page.getByText("You are not in any group yet.")).toBeVisible();
});

test("sign-in sends you back to the page you asked for", async ({ page }) => {
  await page.goto("/groups/sandbox/images");
  await expect(page).toHaveURL(/\/login\?next=/);
  await new LoginPage(page).signIn(demoAccount("demo-admin"));
  await expect(page).toHaveURL(/\/groups\/sandbox\/images$/);
});

test("unknown pages answer 404", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();
});
