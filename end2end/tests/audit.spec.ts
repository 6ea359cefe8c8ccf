import { expect, test } from "@playwright/test";
import { demoAccount, systemAdmin } from "./accounts";
import { LoginPage } from "./pages";

test("a system admin reads the whole audit log and filters it by action", async ({ page }) => {
  await new LoginPage(page).open();
  await new LoginPage(page).signInAs(systemAdmin);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
  await expect(page.getByRole("heading", { name: "Audit log" })).toBeVisible();
  await expect(page.getByTestId("page-group")).toHaveText("everything");
  // serve.sh made users, groups and tokens with the command line: all recorded.
  await expect(page.locator("tbody")).toContainText("user.create");
  await expect(page.locator("tbody")).toContainText("token.create");

  await page.getByLabel("Action").fill("group.");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/\/admin\/audit\?.*action=group\.&/);
  const actions = page.locator("tbody tr td:nth-child(3)");
  // Every action under the prefix (other specs rename and delete groups too), and only those.
  await expect(actions.first()).toHaveText(/^group\./);
  const shown = await actions.allInnerTexts();
  for (const action of shown) expect(action).toMatch(/^group\./);
  expect(shown).toContain("group.create");
  await expect(page.getByRole("link", { name: "CSV" })).toHaveAttribute("href", "/api/v1/audit?action=group.&format=csv");

  await page.getByLabel("From").fill("yesterday");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByRole("alert")).toContainText("must be a date like 2026-11-30");
});

test("a group admin reads their group's audit entries from its Images page", async ({ page }) => {
  await new LoginPage(page).open();
  await new LoginPage(page).signInAs(demoAccount("demo-admin"));
  await page.goto("/groups/demo/images");
  await page.getByRole("link", { name: "Audit log of demo" }).click();
  await expect(page).toHaveURL(/\/groups\/demo\/audit$/);
  await expect(page.getByTestId("page-group")).toHaveText("demo");
  const targets = page.locator("tbody tr td:nth-child(4)");
  await expect(targets.first()).toBeVisible();
  for (const target of await targets.allInnerTexts()) expect(target).toMatch(/^group:demo($|\/)/);
  // Not the whole log: that is for system admins.
  await page.goto("/admin/audit");
  await expect(page.locator("main")).toContainText("system admin");
});
