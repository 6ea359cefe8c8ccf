import { expect, test } from "@playwright/test";
import { demoAccount, otherAdmin, systemAdmin } from "./accounts";
import { CatalogPage, ImageFormPage, LoginPage } from "./pages";

// Each project works in its own group (made in serve.sh, administered by demo-admin), so
// the hydrated and the JavaScript-off runs, and the foundation specs, don't meet.
const groupFor = (project: string) => `team-${project}`;

test("a group admin builds up a catalog: add, sort, search, edit, delete", async ({ page, browser }, info) => {
  const group = groupFor(info.project.name);

  // A system admin grants the group a pull secret first.
  await new LoginPage(page).open();
  await new LoginPage(page).signInAs(systemAdmin);
  await page.goto("/admin/credentials");
  const secret = `reg-${group}`;
  const form = page.locator("form[aria-label='New credential']");
  await form.getByLabel("Name", { exact: true }).fill(secret);
  await form.getByLabel("Registry", { exact: true }).fill("registry.example.org");
  await form.getByLabel("Username").fill("robot");
  await form.getByLabel("Password or token").fill("t0ken-never-shown");
  await form.getByLabel(group, { exact: true }).check();
  await page.getByRole("button", { name: "Create" }).click();
  await expect(page.locator("tbody")).toContainText(secret);
  await expect(page.locator("body")).not.toContainText("t0ken-never-shown");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);

  await new LoginPage(page).open(`/groups/${group}/images`);
  await new LoginPage(page).signIn(demoAccount("demo-admin"));
  const catalog = new CatalogPage(page, group);
  await expect(page.getByText("No images in this group yet.")).toBeVisible();

  await catalog.add({ displayName: "base.cpu", description: "Debian with Python", type: "cpu", url: "debian:12" });
  await catalog.add({
    displayName: "cuda-private",
    description: "CUDA from our registry",
    type: "gpu",
    url: "registry.example.org/ml/cuda:12.4",
    pullSecret: secret,
  });
  await catalog.add({
    displayName: "all-in-one",
    description: "Both worlds",
    type: "universal",
    url: "quay.io/jupyter/pytorch-notebook:latest",
    gpuUrl: "quay.io/jupyter/pytorch-notebook:cuda12-latest",
  });
  await expect(catalog.names()).toHaveText(["all-in-one", "base-cpu", "cuda-private"]);

  // Every column, both ways; ties fall back to the name.
  await catalog.sortBy("Name");
  await expect(catalog.names()).toHaveText(["cuda-private", "base-cpu", "all-in-one"]);
  await catalog.sortBy("Display Name");
  await expect(catalog.names()).toHaveText(["all-in-one", "base-cpu", "cuda-private"]);
  await catalog.sortBy("Display Name");
  await expect(catalog.names()).toHaveText(["cuda-private", "base-cpu", "all-in-one"]);
  await catalog.sortBy("Description");
  await expect(catalog.names()).toHaveText(["all-in-one", "cuda-private", "base-cpu"]);
  await catalog.sortBy("Description");
  await expect(catalog.names()).toHaveText(["base-cpu", "cuda-private", "all-in-one"]);
  await catalog.sortBy("Type");
  await expect(catalog.names()).toHaveText(["base-cpu", "cuda-private", "all-in-one"]);
  await catalog.sortBy("Type");
  await expect(catalog.names()).toHaveText(["all-in-one", "cuda-private", "base-cpu"]);
  await expect(page).toHaveURL(/sort=type&dir=desc/);

  // The view lives in the URL: reloading keeps it.
  await page.reload();
  await expect(catalog.names()).toHaveText(["all-in-one", "cuda-private", "base-cpu"]);

  await catalog.search("CUDA");
  await expect(catalog.names()).toHaveText(["cuda-private"]);
  await catalog.search("universal");
  await expect(catalog.names()).toHaveText(["all-in-one"]);
  await catalog.search("nothing-like-this");
  await expect(page.getByText("No images match")).toBeVisible();

  // Edit with the pen.
  await catalog.open();
  await page.getByRole("link", { name: "Edit image base.cpu" }).click();
  await expect(page.getByLabel("Image name")).toHaveValue("base-cpu");
  await page.getByLabel("Description").fill("Debian 12 with Python 3.11");
  await new ImageFormPage(page).submit("Save");
  await expect(page.locator("tbody")).toContainText("Debian 12 with Python 3.11");

  // A stale edit: two editors open the same image; the second save is refused.
  const editUrl = `/groups/${group}/images/base-cpu/edit`;
  const other = await browser.newPage({ javaScriptEnabled: info.project.name === "hydrated" });
  await other.context().addCookies(await page.context().cookies());
  await other.goto(editUrl);
  await page.goto(editUrl);
  await page.getByLabel("Description").fill("first editor");
  await new ImageFormPage(page).submit("Save");
  await expect(page.locator("tbody")).toContainText("first editor");
  await other.getByLabel("Description").fill("second editor");
  await other.getByRole("button", { name: "Save", exact: true }).click();
  await expect(other.getByRole("alert").filter({ hasText: "changed by someone else" })).toBeVisible();
  await other.close();
  await catalog.open();
  await expect(page.locator("tbody")).toContainText("first editor");
  await expect(page.locator("tbody")).not.toContainText("second editor");

  // Delete with the trash can, after a confirmation naming the image.
  await page.getByRole("link", { name: "Delete image cuda-private" }).click();
  await expect(page.getByRole("heading", { name: "Delete image cuda-private?" })).toBeVisible();
  await page.getByRole("button", { name: "Delete image cuda-private" }).click();
  await expect(page).toHaveURL(new RegExp(`/groups/${group}/images$`));
  await expect(catalog.names()).toHaveText(["all-in-one", "base-cpu"]);
});

test("bad input is named beside its field and nothing is created", async ({ page }, info) => {
  const group = groupFor(info.project.name);
  await new LoginPage(page).open(`/groups/${group}/images/new`);
  await new LoginPage(page).signIn(demoAccount("demo-admin"));
  const form = new ImageFormPage(page);
  await form.fill({ displayName: "Bad Name", type: "cpu", url: "not a url" });
  await form.submit("Create");
  await expect(page.getByText(/Display name: may contain only lowercase letters/)).toBeVisible();
  await page.goto(`/groups/${group}/images?q=bad`);
  await expect(page.getByText("No images match")).toBeVisible();
});

test("an admin of another group is refused every catalog page of this one", async ({ page }, info) => {
  const group = groupFor(info.project.name);
  await new LoginPage(page).open();
  await new LoginPage(page).signInAs(otherAdmin);
  await expect(page.getByTestId("page-group")).toHaveText("other");
  for (const path of ["", "/new", "/base-cpu/edit", "/base-cpu/delete"]) {
    const response = await page.goto(`/groups/${group}/images${path}`);
    expect(response?.status(), path).toBe(403);
    await expect(page.getByRole("alert")).toHaveText(`You are not a member of group ${group}.`);
  }
});
