// Two `kiln serve` replicas on one fresh PostgreSQL database, and a TCP proxy in front of
// them that stands in for a Kubernetes Service: for replicas.spec.ts.

import { ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(__dirname, "..", "..");
/** The release build (`cargo leptos build --release`), as serve.sh serves it. */
export const kilnBin = join(root, "target", "release", "kiln");
const siteRoot = join(root, "target", "site");
/** Both replicas seal credentials with one key, as replicas of one deployment do. */
const secretKey = "07".repeat(32);

/**
 * The PostgreSQL server to make the test's database on, and whether it was named on
 * purpose: `make test-e2e` names it (KILN_E2E_DATABASE_URL), and then an unreachable
 * server fails the test instead of skipping it. The default is what `make pg-up` starts.
 */
export function serverUrl(): { url: string; required: boolean } {
  const named = process.env.KILN_E2E_DATABASE_URL;
  return {
    url: named || "postgres://kiln_test:kiln_test@127.0.0.1:5432/postgres",
    required: !!named,
  };
}

/** Runs a program to its end; answers its stdout, or throws with its stderr. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}) {
  return new Promise<string>((done, fail) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", fail);
    child.on("close", (code) =>
      code === 0 ? done(out) : fail(new Error(`${cmd} ${args.join(" ")}: exit ${code}\n${err}`)),
    );
    child.stdin.end(opts.input ?? "");
  });
}

/** psql on `url`, stopping at the first error; answers its unaligned output. */
export function psql(url: string, sql: string) {
  return run("psql", [url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql]);
}

/** Answers whether PostgreSQL answers at `url`, and if not, why. */
export async function reachable(url: string): Promise<string | undefined> {
  try {
    await psql(url, "SELECT 1");
    return undefined;
  } catch (e) {
    return String(e instanceof Error ? e.message : e).trim();
  }
}

/** A free port on loopback (for a moment: the replica binds it right after). */
export function freePort() {
  return new Promise<number>((done, fail) => {
    const server = net.createServer();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => done(port));
    });
  });
}

/** One `kiln serve` process. */
export class Replica {
  /** When the process ended (performance.now()), and how. */
  readonly exited: Promise<{ at: number; code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly port: number,
    readonly logFile: string,
  ) {
    this.exited = new Promise((done) =>
      child.once("exit", (code, signal) => done({ at: performance.now(), code, signal })),
    );
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get running() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  log() {
    try {
      return readFileSync(this.logFile, "utf8");
    } catch {
      return "";
    }
  }

  kill() {
    if (this.running) this.child.kill("SIGKILL");
  }
}

/** A fresh database (migrated, with the CLI's accounts), and the replicas serving it. */
export class Site {
  readonly replicas: Replica[] = [];

  private constructor(
    readonly adminUrl: string,
    readonly dbName: string,
    readonly dbUrl: string,
    readonly dir: string,
  ) {}

  /** Creates the database (named like the Rust tests' ones, which `make test-postgres` sweeps) and migrates it. */
  static async create(adminUrl: string): Promise<Site> {
    const dbName = `kiln_test_e2e_replicas_${randomBytes(4).toString("hex")}`;
    await psql(adminUrl, `CREATE DATABASE ${dbName}`);
    const dbUrl = adminUrl.replace(/\/[^/]*$/, `/${dbName}`);
    const site = new Site(adminUrl, dbName, dbUrl, mkdtempSync(join(tmpdir(), "kiln-e2e-replicas-")));
    await site.kiln(["migrate"]);
    return site;
  }

  private env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    // Nothing of the caller's Kiln settings (the Makefile exports some) leaks in.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("KILN_")));
    return {
      ...env,
      KILN_DATABASE_URL: this.dbUrl,
      KILN_SECRET_KEY: secretKey,
      KILN_BUILDER: "none",
      LEPTOS_SITE_ROOT: siteRoot,
      LEPTOS_ENV: "PROD",
      RUST_LOG: "info,tower_http=warn",
      ...extra,
    };
  }

  /** The CLI on this site's database; answers its stdout. */
  kiln(args: string[], input?: string) {
    return run(kilnBin, args, { env: this.env(), input });
  }

  psql(sql: string) {
    return psql(this.dbUrl, sql);
  }

  /** Starts `kiln serve` with builds off and waits until it is ready. */
  async start(name: string): Promise<Replica> {
    const port = await freePort();
    const logFile = join(this.dir, `${name}.log`);
    const child = spawn(kilnBin, ["serve"], {
      env: this.env({
        KILN_LISTEN: `127.0.0.1:${port}`,
        KILN_DATA_DIR: join(this.dir, name),
      }),
      stdio: ["ignore", "ignore", openSync(logFile, "w")],
    });
    const replica = new Replica(name, child, port, logFile);
    this.replicas.push(replica);
    for (let i = 0; i < 300; i++) {
      if (!replica.running) throw new Error(`replica ${name} exited while starting:\n${replica.log()}`);
      const ready = await fetch(`${replica.url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return replica;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`replica ${name} was not ready in 30 s:\n${replica.log()}`);
  }

  /** Kills what is still running, drops the database and removes the files. */
  async close() {
    for (const replica of this.replicas) {
      replica.kill();
      await Promise.race([replica.exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    await psql(this.adminUrl, `DROP DATABASE IF EXISTS ${this.dbName} WITH (FORCE)`);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** An HTTP request that went through the proxy: where to, and its Last-Event-ID. */
export interface Forwarded {
  backend: string;
  method: string;
  path: string;
  lastEventId?: string;
}

/**
 * A TCP proxy standing in for a Kubernetes Service: each new connection goes to the first
 * backend still in its list; a connection stays with the backend it went to until either
 * side closes it. `remove` takes a backend out, as the endpoints controller does with a
 * terminating pod. It notes the requests it sees, to tell who served what.
 */
export class ServiceProxy {
  readonly forwarded: Forwarded[] = [];
  private sockets = new Set<net.Socket>();

  private constructor(
    private backends: { name: string; port: number }[],
    private server: net.Server,
    readonly port: number,
  ) {
    server.on("connection", (client) => this.forward(client));
  }

  static async start(backends: Replica[]): Promise<ServiceProxy> {
    const server = net.createServer();
    const port = await new Promise<number>((done, fail) => {
      server.on("error", fail);
      server.listen(0, "127.0.0.1", () => done((server.address() as net.AddressInfo).port));
    });
    return new ServiceProxy(
      backends.map((r) => ({ name: r.name, port: r.port })),
      server,
      port,
    );
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  remove(name: string) {
    this.backends = this.backends.filter((b) => b.name !== name);
  }

  private forward(client: net.Socket) {
    this.sockets.add(client);
    client.on("close", () => this.sockets.delete(client));
    const backend = this.backends[0];
    if (!backend) {
      client.destroy();
      return;
    }
    const upstream = net.connect(backend.port, "127.0.0.1");
    this.sockets.add(upstream);
    upstream.on("close", () => this.sockets.delete(upstream));
    client.on("data", this.noter(backend.name));
    client.pipe(upstream);
    upstream.pipe(client);
    // A failure on one side resets the other; an orderly end (pipe ends the other side
    // after its last byte) stays orderly, so no event of a closing stream is lost.
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
  }

  /** Reads the requests a client sends on one connection (heads, skipping bodies). */
  private noter(backend: string) {
    let pending = "";
    let body = 0;
    return (chunk: Buffer) => {
      pending += chunk.toString("latin1");
      for (;;) {
        const skipped = Math.min(body, pending.length);
        pending = pending.slice(skipped);
        body -= skipped;
        const end = pending.indexOf("\r\n\r\n");
        if (body > 0 || end < 0) return;
        const [start, ...lines] = pending.slice(0, end).split("\r\n");
        pending = pending.slice(end + 4);
        const header = (name: string) =>
          lines.find((l) => l.toLowerCase().startsWith(name + ":"))?.slice(name.length + 1).trim();
        const [method, path] = start.split(" ");
        this.forwarded.push({ backend, method, path, lastEventId: header("last-event-id") });
        body = Number(header("content-length") ?? 0);
      }
    };
  }

  async close() {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

/** A live log read from node with fetch, as a script or another browser would. */
export class EventStream {
  text = "";
  /** Set when the stream ended (or broke off). */
  ended = false;
  private constructor(
    readonly status: number,
    private abort: AbortController,
  ) {}

  static async open(url: string, token: string, lastEventId?: string): Promise<EventStream> {
    const abort = new AbortController();
    const headers: Record<string, string> = { accept: "text/event-stream", authorization: `Bearer ${token}` };
    if (lastEventId) headers["last-event-id"] = lastEventId;
    const res = await fetch(url, { headers, signal: abort.signal });
    const stream = new EventStream(res.status, abort);
    if (!res.ok) {
      stream.text = await res.text();
      stream.ended = true;
      return stream;
    }
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          stream.text += decoder.decode(value, { stream: true });
        }
      } catch {
        // Broken off: ended too, as far as a viewer can tell.
      }
      stream.ended = true;
    })();
    return stream;
  }

  /** Waits until `done` holds, for at most `ms`. */
  async until(what: string, done: () => boolean, ms = 10_000) {
    const deadline = performance.now() + ms;
    while (!done()) {
      if (performance.now() > deadline) throw new Error(`the stream did not ${what} in ${ms} ms:\n${this.text}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** The ids of the `log` events read so far. */
  ids() {
    return [...this.text.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]);
  }

  /** The log lines read so far. */
  lines() {
    return [...this.text.matchAll(/^data: (line \d+)$/gm)].map((m) => m[1]);
  }

  close() {
    this.abort.abort();
  }
}
