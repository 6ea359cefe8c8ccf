import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { systemAdmin } from "./accounts";
import { LoginPage } from "./pages";

/** The write token serve.sh made with `kiln token create`. */
const writeToken = () => readFileSync(join(__dirname, "..", ".state", "token.txt"), "utf8").trim();

test("a system admin enters a rotated password, and deletes a credential once no image uses it", async ({ page, request }, info) => {
  const name = `rotate-${info.project.name}`;
  const auth = { authorization: `Bearer ${writeToken()}` };
  await new LoginPage(page).open();
  await new LoginPage(page).signInAs(systemAdmin);
  await page.goto("/admin/credentials");
  const form = page.locator("form[aria-label='New credential']");
  await form.getByLabel("Name", { exact: true }).fill(name);
  await form.getByLabel("Registry", { exact: true }).fill("registry.example.org");
  await form.getByLabel("Username").fill("robot");
  await form.getByLabel("Password or token").fill("first-secret");
  await form.getByLabel("launch-e2e", { exact: true }).check();
  await page.getByRole("button", { name: "Create" }).click();
  const row = page.locator("tr", { hasText: name });
  await expect(row).toContainText("robot");

  // The rotated password and a new username: saved, never shown.
  await row.getByText(`Change ${name}`).click();
  await row.getByLabel("New username").fill("robot-2");
  await row.getByLabel("New password or token").fill("rotated-secret");
  await row.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.locator("tr", { hasText: name })).toContainText("robot-2");
  await expect(page.locator("body")).not.toContainText("rotated-secret");

  // An image pulls with it: deleting is refused, naming the image.
  const image = `pulls-${info.project.name}`;
  const made = await request.post("/api/v1/groups/launch-e2e/images", {
    headers: auth,
    data: { display_name: image, type: "cpu", url: `registry.example.org/${image}:1`, pull_secret: name },
  });
  expect(made.status()).toBe(201);
  await page.locator("tr", { hasText: name }).getByText(`Change ${name}`).click();
  await page.getByRole("button", { name: `Delete ${name}` }).click();
  await expect(page.getByRole("alert")).toContainText(`Credential ${name} is in use by launch-e2e/${image}`);
  await expect(page.locator("tr", { hasText: name })).toBeVisible();

  expect((await request.delete(`/api/v1/groups/launch-e2e/images/${image}`, { headers: auth })).status()).toBe(204);
  await page.goto("/admin/credentials");
  await page.locator("tr", { hasText: name }).getByText(`Change ${name}`).click();
  await page.getByRole("button", { name: `Delete ${name}` }).click();
  await expect(page.locator("tr", { hasText: name })).toHaveCount(0);
});
