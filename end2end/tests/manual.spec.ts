import { expect, test } from "@playwright/test";
import { demoAccount } from "./accounts";
import { CatalogPage, LoginPage } from "./pages";

// A new group admin follows the manual (group-image-cht.md): Images, New Image, Display
// name and Description first, then one of the two ways. Each step here was a defect.
test("a new group admin follows the manual from the launch page to a new image", async ({ page }, info) => {
  const group = `manual-${info.project.name}`;
  await new LoginPage(page).open("/launch");
  await new LoginPage(page).signInAs(demoAccount("demo-admin"));

  // The navigation names the page as the manual does; from /launch it leads to a group's Images.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Images", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Images" })).toBeVisible();
  await expect(page).toHaveURL(/\/groups\/[^/]+\/images$/);

  // On a group's page, "Images" stays with that group.
  const catalog = new CatalogPage(page, group);
  await catalog.open();
  await expect(
    page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Images", exact: true }),
  ).toHaveAttribute("href", `/groups/${group}/images`);

  await page.getByRole("link", { name: "New Image" }).click();
  const tabs = page.getByRole("navigation", { name: "How to add the image" });
  // Exactly one way is chosen.
  await expect(tabs.locator("[aria-current]")).toHaveCount(1);
  await expect(tabs.locator("[aria-current='page']")).toHaveText("Use existing image");

  // Display name and Description first, then the choice: what was typed stays, both ways.
  await page.getByLabel("Display name").fill("notebook.first");
  await page.getByLabel("Description").fill("Typed before choosing");
  await page.getByLabel("Type", { exact: true }).selectOption("gpu");
  await tabs.getByRole("button", { name: "Build custom image" }).click();
  await expect(tabs.locator("[aria-current='page']")).toHaveText("Build custom image");
  await expect(tabs.locator("[aria-current]")).toHaveCount(1);
  const build = page.getByRole("form", { name: "Build custom image" });
  await expect(build.getByLabel("Display name")).toHaveValue("notebook.first");
  await expect(build.getByLabel("Description")).toHaveValue("Typed before choosing");
  await expect(build.getByLabel("Type", { exact: true })).toHaveValue("gpu");
  await build.getByLabel("Description").fill("Changed on the build tab");
  await tabs.getByRole("button", { name: "Use existing image" }).click();
  const existing = page.getByRole("form", { name: "Use existing image" });
  await expect(existing.getByLabel("Display name")).toHaveValue("notebook.first");
  await expect(existing.getByLabel("Description")).toHaveValue("Changed on the build tab");
  await expect(existing.getByLabel("Type", { exact: true })).toHaveValue("gpu");
  // Choosing a way creates nothing.
  await catalog.open();
  await expect(page.getByText("No images in this group yet.")).toBeVisible();

  await page.goBack();
  await existing.getByLabel("Container image url", { exact: true }).fill("registry.example.org/ml/first:1");
  await existing.getByRole("button", { name: "Create", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/groups/${group}/images$`));
  await expect(catalog.names()).toHaveText(["notebook-first"]);
  await expect(page.locator("tbody")).toContainText("Changed on the build tab");

  // The sorted column's arrow is not the building marker's ▲.
  const nameHeading = page.locator("thead").getByRole("link", { name: /^Name/ });
  await expect(nameHeading).toHaveText("Name ↑");
  await catalog.sortBy("Name");
  await expect(page.locator("thead").getByRole("link", { name: /^Name/ })).toHaveText("Name ↓");
  await expect(page.locator("thead")).not.toContainText("▲");
});
