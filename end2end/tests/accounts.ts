import { readFileSync } from "node:fs";
import { join } from "node:path";

/** An account the tests sign in with. */
export interface Account {
  user: string;
  password: string;
}

/** The demo accounts, with the passwords `kiln demo` printed once (see serve.sh). */
export function demoAccount(user: "demo-admin" | "demo-member"): Account {
  const printed = readFileSync(join(__dirname, "..", ".state", "demo.txt"), "utf8");
  const line = printed.split("\n").find((l) => l.trim().startsWith(user + " "));
  if (!line) throw new Error(`kiln demo printed no password for ${user}:\n${printed}`);
  return { user, password: line.trim().split(/\s+/)[1] };
}

/** Accounts made with `kiln user add --password-stdin` in serve.sh. */
export const otherAdmin: Account = { user: "other-admin", password: "other-admin-password" };
export const loner: Account = { user: "loner", password: "loner-password" };
export const systemAdmin: Account = { user: "root", password: "root-password" };
