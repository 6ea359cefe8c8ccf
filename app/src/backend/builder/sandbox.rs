//! Where the local builder runs strangers' code: `buildah build` in namespaces of its own.
//! - **PID** (`unshare --pid --fork --mount-proc`): its `/proc` shows the build's own
//!   processes only; Kiln, the registry and other builds are not there to read.
//! - **Mount**: Kiln's folders (its data folder with the secret key, the SQLite database
//!   and the registry auth files) are covered by empty read-only mounts.
//! - **Network**: a namespace whose only way out is `slirp4netns --disable-host-loopback`:
//!   the outside answers; the host's loopback (Kiln, PostgreSQL, a loopback registry) and
//!   slirp's gateway to it do not.
//! - **Environment**: emptied but for the few variables buildah needs (`scrubbed`).
//!
//! Pulling the base image and pushing the result happen outside, with the auth file; the
//! build inside never has one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use super::registry::on_path;

/// Where RUN steps send DNS questions: slirp4netns' resolver, which asks the host's.
pub const DNS: &str = "10.0.2.3";

/// The variables a build command keeps; everything else of Kiln's environment (its secret
/// key, database URL, registry password, proxies) stays behind.
const KEPT: [&str; 10] = [
    "PATH",
    "HOME",
    "LANG",
    "TMPDIR",
    "STORAGE_DRIVER",
    "STORAGE_OPTS",
    "BUILDAH_ISOLATION",
    "CONTAINERS_CONF",
    "CONTAINERS_STORAGE_CONF",
    "CONTAINERS_REGISTRIES_CONF",
];

/// Runs inside the new namespaces as their first process: covers the hidden paths, waits
/// for slirp4netns' default route (and, given a port in hex, for Kiln to listen on it on
/// the namespace's loopback), then becomes the command. Paths and the command are
/// positional arguments, never part of the script.
const ENTER: &str = r#"set -eu
port=$1; shift
n=$1; shift
while [ "$n" -gt 0 ]; do
  if [ -d "$1" ]; then mount -t tmpfs -o ro,size=4k,mode=0555 kiln-hidden "$1"
  elif [ -e "$1" ]; then mount --bind -o ro /dev/null "$1"; fi
  n=$((n - 1)); shift
done
tries=0
until grep -q '^tap0[[:space:]]*00000000' /proc/net/route; do
  tries=$((tries + 1))
  if [ "$tries" -gt 400 ]; then echo "[kiln] the build's network did not come up" >&2; exit 125; fi
  sleep 0.05
done
tries=0
while [ "$port" != - ] && ! grep -q ": 0100007F:$port 00000000:0000 0A " /proc/net/tcp; do
  tries=$((tries + 1))
  if [ "$tries" -gt 400 ]; then echo "[kiln] the build's registry cache did not come up" >&2; exit 125; fi
  sleep 0.05
done
exec "$@""#;

/// The namespaces a local build runs in, and what they hide.
#[derive(Debug, Clone, Default)]
pub struct Sandbox {
    hidden: Vec<PathBuf>,
}

impl Sandbox {
    /// A sandbox covering `hidden` (folders or files; those missing are skipped).
    pub fn hiding(hidden: Vec<PathBuf>) -> Self {
        let hidden = hidden
            .into_iter()
            .map(|p| std::path::absolute(&p).unwrap_or(p))
            .collect();
        Sandbox { hidden }
    }

    /// Also covers `path`.
    pub fn and_hiding(mut self, path: &Path) -> Self {
        self.hidden
            .push(std::path::absolute(path).unwrap_or_else(|_| path.to_owned()));
        self
    }

    /// Why this host cannot make the sandbox, if it cannot.
    pub fn missing_tools() -> Option<&'static str> {
        if !on_path("unshare") || !on_path("slirp4netns") {
            return Some(
                "unshare and slirp4netns (Debian: apt-get install util-linux slirp4netns)",
            );
        }
        // SAFETY: geteuid(2) reads the process's own user id; it cannot fail.
        (unsafe { libc::geteuid() } != 0)
            .then_some("root: each build gets network, PID and mount namespaces of its own")
    }

    /// `program args…` as a command that, started with [`start`], runs in the namespaces.
    /// Its environment is scrubbed.
    pub fn command(&self, program: &str) -> Command {
        self.command_after(program, None)
    }

    /// [`Self::command`], which starts `program` only once something listens on
    /// `127.0.0.1:port` inside the namespace (Kiln serves it there after [`start`]).
    pub fn command_after(&self, program: &str, port: Option<u16>) -> Command {
        let mut cmd = Command::new("unshare");
        scrubbed(&mut cmd);
        cmd.args(["--net", "--pid", "--fork", "--mount-proc", "--kill-child"])
            .args(["sh", "-c", ENTER, "kiln-sandbox"])
            .arg(port.map_or_else(|| "-".to_owned(), |p| format!("{p:04X}")))
            .arg(self.hidden.len().to_string())
            .args(&self.hidden)
            .arg(program);
        cmd
    }
}

/// A started command, and the network helper that goes with a sandboxed one.
pub struct Running {
    pub child: Child,
    network: Option<Child>,
}

impl Running {
    /// A command started without a sandbox.
    pub fn plain(child: Child) -> Self {
        Running {
            child,
            network: None,
        }
    }

    /// Waits for the command; the network helper is stopped after.
    pub async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        let status = self.child.wait().await;
        if let Some(mut net) = self.network.take() {
            let _ = net.kill().await;
            let _ = net.wait().await;
        }
        status
    }
}

/// Starts a command made by [`Sandbox::command`], then gives its network namespace a way
/// out. slirp4netns starts only once the namespace exists: earlier, it would join the
/// host's.
pub async fn start(cmd: &mut Command) -> std::io::Result<Running> {
    let mut child = cmd.spawn()?;
    let Some(pid) = child.id() else {
        return Ok(Running::plain(child));
    };
    if let Err(e) = wait_for_own_network(pid).await {
        let _ = child.kill().await;
        return Err(e);
    }
    let mut slirp = Command::new("slirp4netns");
    scrubbed(&mut slirp);
    slirp
        .args([
            "--configure",
            "--disable-host-loopback",
            "--enable-sandbox",
            "--enable-seccomp",
        ])
        .arg(pid.to_string())
        .arg("tap0")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    match slirp.spawn() {
        Ok(net) => Ok(Running {
            child,
            network: Some(net),
        }),
        Err(e) => {
            let _ = child.kill().await;
            Err(e)
        }
    }
}

/// Waits until process `pid` is in a network namespace other than Kiln's (`unshare` has
/// made it), for at most 5 s.
async fn wait_for_own_network(pid: u32) -> std::io::Result<()> {
    let ours = std::fs::read_link("/proc/self/ns/net")?;
    let started = Instant::now();
    loop {
        match std::fs::read_link(format!("/proc/{pid}/ns/net")) {
            Ok(theirs) if theirs != ours => return Ok(()),
            Err(e) if started.elapsed() > Duration::from_secs(5) => return Err(e),
            _ if started.elapsed() > Duration::from_secs(5) => {
                return Err(std::io::Error::other(
                    "the build's network namespace was not made within 5 s",
                ));
            }
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

/// Empties `cmd`'s environment but for what buildah needs to find its storage and tools.
pub fn scrubbed(cmd: &mut Command) {
    cmd.env_clear();
    for name in KEPT {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> bool {
        if Sandbox::missing_tools().is_some() {
            eprintln!("needs root, unshare and slirp4netns (make test-tools): not checked");
            return false;
        }
        true
    }

    async fn run(sandbox: &Sandbox, script: &str) -> (i32, String) {
        let mut command = sandbox.command("bash");
        command
            .args(["-c", script])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let running = start(&mut command).await.unwrap();
        let mut net = running.network;
        let out = running.child.wait_with_output().await.unwrap();
        if let Some(net) = net.as_mut() {
            let _ = net.kill().await;
        }
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    #[tokio::test]
    async fn a_sandboxed_command_sees_its_own_processes_no_loopback_and_no_hidden_files() {
        if !ready() {
            return;
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let data =
            std::env::temp_dir().join(format!("kiln-sandbox-{}", crate::backend::random_hex(4)));
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("secret.key"), "the key").unwrap();
        let sandbox = Sandbox::hiding(vec![data.clone()]);
        let script = format!(
            "echo procs $(ls -d /proc/[0-9]* | wc -l); \
             cat {data}/secret.key 2>/dev/null || echo hidden; \
             echo cargo variables $(env | grep -c ^CARGO_); \
             timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}' 2>/dev/null && echo reached loopback || echo no loopback; \
             timeout 5 bash -c 'exec 3<>/dev/tcp/10.0.2.2/{port}' 2>/dev/null && echo reached gateway || echo no gateway",
            data = data.display()
        );
        let (code, out) = run(&sandbox, &script).await;
        let _ = std::fs::remove_dir_all(&data);
        assert_eq!(code, 0, "{out}");
        let procs: usize = out
            .lines()
            .find_map(|l| l.strip_prefix("procs "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{out}"));
        assert!(procs <= 5, "saw {procs} processes: {out}");
        assert!(out.contains("hidden\n"), "{out}");
        // cargo runs tests with CARGO_* set: the stand-in for Kiln's own variables.
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
        assert!(out.contains("cargo variables 0\n"), "{out}");
        assert!(
            out.contains("no loopback") && out.contains("no gateway"),
            "{out}"
        );
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(
            accepted.is_err(),
            "something connected to the host's loopback"
        );
    }
}
