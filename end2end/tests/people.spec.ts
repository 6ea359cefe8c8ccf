import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { demoAccount, systemAdmin } from "./accounts";
import { LoginPage } from "./pages";

test("a system admin makes an account, disables it (its session stops), and sets its password", async ({ page, browser }, info) => {
  const user = `pat-${info.project.name}-${Date.now() % 100000}`;
  await new LoginPage(page).open();
  await new LoginPage(page).signInAs(systemAdmin);
  await page.getByRole("link", { name: "Users" }).click();
  await expect(page.getByRole("heading", { name: "Users" })).toBeVisible();
  const form = page.locator("form[aria-label='New user']");
  await form.getByLabel("User name").fill(user);
  await form.getByLabel("Password").fill("short");
  await form.getByRole("button", { name: "Create user" }).click();
  await expect(page.getByRole("alert")).toContainText("Password: must be at least 8 characters");
  await form.getByLabel("User name").fill(user);
  await form.getByLabel("Password").fill("first password");
  await form.getByRole("button", { name: "Create user" }).click();
  await expect(page.locator("tr", { hasText: user })).toContainText("active");

  // The new user signs in elsewhere.
  const theirs = await browser.newContext();
  const them = await theirs.newPage();
  await new LoginPage(them).open();
  await new LoginPage(them).signInAs({ user, password: "first password" });

  await page.locator("tr", { hasText: user }).getByRole("button", { name: `Disable ${user}` }).click();
  await expect(page.locator("tr", { hasText: user })).toContainText("disabled");
  // Their next request is anonymous; signing in again is refused, saying why.
  await them.goto("/me/tokens");
  await expect(them.getByTestId("signed-in-user")).toHaveCount(0);
  await new LoginPage(them).open();
  await new LoginPage(them).signIn({ user, password: "first password" });
  await expect(new LoginPage(them).error()).toContainText(`The account ${user} is disabled`);

  await page.locator("tr", { hasText: user }).getByRole("button", { name: `Enable ${user}` }).click();
  await expect(page.locator("tr", { hasText: user })).toContainText("active");
  const row = page.locator("tr", { hasText: user });
  await row.getByText(`Set the password of ${user}`).click();
  await row.getByLabel("New password").fill("second password");
  await row.getByRole("button", { name: "Set password" }).click();
  await expect(page.locator("tr", { hasText: user })).toContainText("active");

  // They change it themselves: the current one is checked, then they sign in anew.
  await new LoginPage(them).open();
  await new LoginPage(them).signInAs({ user, password: "second password" });
  await them.getByRole("link", { name: "Change password" }).click();
  await them.getByLabel("Current password").fill("first password");
  await them.getByLabel("New password").fill("third password");
  await them.getByRole("button", { name: "Change password" }).click();
  await expect(them.getByRole("alert")).toContainText("Current password: is not your current password");
  await them.getByLabel("Current password").fill("second password");
  await them.getByLabel("New password").fill("third password");
  await them.getByRole("button", { name: "Change password" }).click();
  await expect(them).toHaveURL(/\/login\?changed=password/);
  await expect(them.getByRole("status")).toContainText("Your password was changed");
  await new LoginPage(them).signInAs({ user, password: "third password" });

  // Deleted: gone from the list; their session ends.
  await page.goto("/admin/users");
  await page.getByRole("button", { name: `Delete ${user}` }).click();
  await expect(page.locator("tr", { hasText: user })).toHaveCount(0);
  await them.goto("/me/tokens");
  await expect(them.getByTestId("signed-in-user")).toHaveCount(0);
  await theirs.close();
});

test("a group admin adds a member, makes them an admin, and removes them", async ({ page }, info) => {
  const group = `team-${info.project.name}`;
  await new LoginPage(page).open(`/groups/${group}/images`);
  await new LoginPage(page).signIn(demoAccount("demo-admin"));
  await page.getByRole("link", { name: `Members of ${group}` }).click();
  await expect(page.getByRole("heading", { name: `Members of ${group}` })).toBeVisible();
  await expect(page.locator("tr", { hasText: "demo-admin" })).toContainText("admin");

  const add = page.locator("form[aria-label='Add a member']");
  await add.getByLabel("User name").fill("nobody-here");
  await add.getByRole("button", { name: "Add member" }).click();
  await expect(page.getByRole("alert")).toContainText("There is no user nobody-here.");
  await add.getByLabel("User name").fill("loner");
  await add.getByRole("button", { name: "Add member" }).click();
  await expect(page.locator("tr", { hasText: "loner" })).toContainText("member");

  await page.getByRole("button", { name: "Make loner an admin" }).click();
  await expect(page.locator("tr", { hasText: "loner" })).toContainText("admin");
  await page.getByRole("button", { name: "Remove loner" }).click();
  await expect(page.locator("tr", { hasText: "loner" })).toHaveCount(0);
});

test("a system admin creates, renames and deletes a group; one with images is kept", async ({ page, request }, info) => {
  const group = `spare-${info.project.name}-${Date.now() % 100000}`;
  await new LoginPage(page).open();
  await new LoginPage(page).signInAs(systemAdmin);
  await page.getByRole("link", { name: "Groups" }).click();
  const form = page.locator("form[aria-label='New group']");
  await form.getByLabel("Group name").fill("global");
  await form.getByRole("button", { name: "Create group" }).click();
  await expect(page.getByRole("alert")).toContainText("Group name: is reserved");
  await form.getByLabel("Group name").fill(group);
  await form.getByRole("button", { name: "Create group" }).click();
  const row = page.locator("tr", { hasText: group });
  await expect(row).toContainText("0");

  await row.getByText(`Rename ${group}`).click();
  await row.getByLabel("New name").fill(`${group}-b`);
  await row.getByRole("button", { name: "Rename", exact: true }).click();
  await expect(page.locator("tr", { hasText: `${group}-b` })).toBeVisible();

  // launch-e2e has images: deleting it is refused, saying so.
  const token = readFileSync(join(__dirname, "..", ".state", "token.txt"), "utf8").trim();
  const made = await request.post("/api/v1/groups/launch-e2e/images", {
    headers: { authorization: `Bearer ${token}` },
    data: { display_name: `kept-${info.project.name}`, type: "cpu", url: "registry.example/kept:1" },
  });
  expect([201, 422]).toContain(made.status());
  await page.getByRole("button", { name: "Delete launch-e2e" }).click();
  await expect(page.getByRole("alert")).toContainText("Group launch-e2e still has");
  await page.getByRole("button", { name: `Delete ${group}-b` }).click();
  await expect(page.locator("tr", { hasText: group })).toHaveCount(0);
});
