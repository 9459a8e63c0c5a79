//! Worker that lets a coding agent patch a crate after a failing CI run.
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub struct Worker {
    workdir: String,
    image: String,
    unattended: bool,
}

impl Worker {
    pub fn claude(&self, prompt: &str) -> std::io::Result<Output> {
        // ruleid: rust-agent-inline-launch, rust-agent-inherits-environment, rust-agent-permission-bypass
        Command::new("claude")
            .arg("-p")
            .arg(prompt)
            .arg("--dangerously-skip-permissions")
            .current_dir(&self.workdir)
            .output()
    }

    pub fn codex(&self, prompt: &str) -> std::io::Result<Output> {
        // ruleid: rust-agent-inline-launch, rust-agent-inherits-environment, rust-agent-permission-bypass
        std::process::Command::new("codex")
            .args(["exec", "--sandbox", "danger-full-access", prompt])
            .stdout(Stdio::piped())
            .output()
    }

    pub fn gemini(&self, prompt: &str) -> std::io::Result<std::process::ExitStatus> {
        // ruleid: rust-agent-inline-launch, rust-agent-inherits-environment, rust-agent-permission-bypass
        let mut cmd = Command::new("gemini");
        cmd.args(&["--approval-mode", "yolo", "-p", prompt]);
        cmd.current_dir(&self.workdir);
        cmd.status()
    }

    pub fn conditional(&self, prompt: &str) -> std::io::Result<Output> {
        // ruleid: rust-agent-inline-launch, rust-agent-inherits-environment, rust-agent-permission-bypass
        let mut cmd = Command::new("claude");
        cmd.arg("-p").arg(prompt);
        if self.unattended {
            cmd.arg("--dangerously-skip-permissions");
        }
        cmd.output()
    }

    pub fn npx(&self, prompt: &str) -> std::io::Result<Output> {
        // ruleid: rust-agent-inline-launch, rust-agent-inherits-environment
        Command::new("npx").args(["-y", "@openai/codex", "exec", prompt]).output()
    }

    pub fn shell(&self) -> std::io::Result<Output> {
        // ruleid: rust-agent-inline-launch, rust-agent-inherits-environment, rust-agent-permission-bypass
        Command::new("bash").args(["-lc", "cd /srv/crate && codex exec --yolo 'fix clippy'"]).output()
    }

    pub async fn tokio_aider(&self, msg: &str) -> std::io::Result<std::process::Output> {
        // ruleid: rust-agent-inline-launch, rust-agent-inherits-environment
        tokio::process::Command::new("aider").arg("--message").arg(msg).output().await
    }

    /// Inline, but the environment is cleared and rebuilt.
    pub fn cleared(&self, prompt: &str) -> std::io::Result<Output> {
        // ruleid: rust-agent-inline-launch
        Command::new("codex")
            .args(["exec", prompt])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("CODEX_API_KEY", std::env::var("CODEX_API_KEY").unwrap_or_default())
            .output()
    }

    pub fn cleared_stmt(&self, prompt: &str) -> std::io::Result<Output> {
        // ruleid: rust-agent-inline-launch
        let mut cmd = Command::new("opencode");
        cmd.arg("run").arg(prompt);
        cmd.env_clear().env("PATH", "/usr/bin");
        cmd.output()
    }

    pub fn docker(&self, prompt: &str) -> std::io::Result<Output> {
        // ok: rust-agent-inline-launch, rust-agent-inherits-environment, rust-agent-permission-bypass
        Command::new("docker")
            .args(["run", "--rm", "--network=none", &self.image, "claude", "-p", prompt, "--dangerously-skip-permissions"])
            .output()
    }

    pub fn bwrap(&self, prompt: &str) -> std::io::Result<Output> {
        // ok: rust-agent-inline-launch, rust-agent-inherits-environment, rust-agent-permission-bypass
        Command::new("bwrap")
            .args(["--ro-bind", "/usr", "/usr", "--unshare-all", "--clearenv", "--"])
            .args(["codex", "exec", "--yolo", prompt])
            .output()
    }

    pub fn sandbox_exec(&self, prompt: &str) -> std::io::Result<Output> {
        // ok: rust-agent-inline-launch, rust-agent-inherits-environment, rust-agent-permission-bypass
        Command::new("sandbox-exec").args(["-f", "agent.sb", "gemini", "--yolo", "-p", prompt]).output()
    }

    /// Generic names (goose, q, agent, amp ...) count only with one of their own companion arguments.
    pub fn generic_names(&self, prompt: &str) {
        // ruleid: rust-agent-inline-launch, rust-agent-inherits-environment
        let _ = Command::new("goose").args(["run", "-t", prompt]).output();
        // ruleid: rust-agent-inline-launch, rust-agent-inherits-environment, rust-agent-permission-bypass
        let _ = Command::new("amp").arg("-x").arg(prompt).arg("--dangerously-allow-all").output();
        // ruleid: rust-agent-inline-launch, rust-agent-inherits-environment, rust-agent-permission-bypass
        let _ = Command::new("sh").args(["-c", "kiro-cli chat --trust-all-tools --no-interactive"]).output();
        // ok: rust-agent-inline-launch, rust-agent-inherits-environment, rust-agent-permission-bypass
        let _ = Command::new("goose").arg("info").output();
        // ok: rust-agent-inline-launch, rust-agent-inherits-environment, rust-agent-permission-bypass
        let _ = Command::new("q").args(["run", prompt]).output();
        // ok: rust-agent-inline-launch
        let _ = Command::new("npx").args(["-p", "prettier", "prettier", "--check", "."]).output();
        // ok: rust-agent-inline-launch
        let _ = Command::new("sh").args(["-c", "goose configure"]).output();
    }

    pub fn probes(&self) {
        // ok: rust-agent-inline-launch
        let _ = Command::new("claude").arg("--version").output();
        // ok: rust-agent-inline-launch
        let _ = Command::new("git").args(["log", "--author", "codex"]).output();
        // ok: rust-agent-inline-launch
        let _ = Command::new("sh").args(["-c", "echo codex"]).output();
        let _ = Path::new(&self.workdir);
    }
}

// Known gap: the binary name behind a const.
const CLAUDE_BIN: &str = "claude";

pub fn from_const(prompt: &str) {
    // todoruleid: rust-agent-inline-launch
    let _ = Command::new(CLAUDE_BIN).arg("-p").arg(prompt).output();
}
