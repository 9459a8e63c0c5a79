package com.acme.jobs;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Nightly job runner: lets a coding agent triage failing builds in a checked-out workspace. */
public class AgentJobRunner {

    private final Path workspace;
    private final String image;
    private final boolean unattended;

    public AgentJobRunner(Path workspace, String image, boolean unattended) {
        this.workspace = workspace;
        this.image = image;
        this.unattended = unattended;
    }

    public int triageWithClaude(String prompt) throws IOException, InterruptedException {
        // ruleid: java-agent-inline-launch, java-agent-inherits-environment, java-agent-permission-bypass
        ProcessBuilder pb = new ProcessBuilder("claude", "-p", prompt, "--dangerously-skip-permissions");
        pb.directory(workspace.toFile());
        pb.environment().put("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "8000");
        pb.inheritIO();
        Process p = pb.start();
        return p.waitFor();
    }

    public int triageWithCodex(String prompt) throws IOException, InterruptedException {
        // ruleid: java-agent-inline-launch, java-agent-inherits-environment, java-agent-permission-bypass
        Process p = new ProcessBuilder(List.of("codex", "exec", "--sandbox", "danger-full-access", prompt))
                .directory(workspace.toFile())
                .redirectErrorStream(true)
                .start();
        p.waitFor(30, TimeUnit.MINUTES);
        return p.exitValue();
    }

    public Process geminiViaRuntime(String prompt) throws IOException {
        // ruleid: java-agent-inline-launch, java-agent-inherits-environment, java-agent-permission-bypass
        return Runtime.getRuntime().exec(new String[]{"gemini", "--approval-mode", "yolo", "-p", prompt});
    }

    public Process codexOneLiner(String task) throws IOException {
        // ruleid: java-agent-inline-launch, java-agent-inherits-environment, java-agent-permission-bypass
        return Runtime.getRuntime().exec("codex exec --yolo " + task, null, workspace.toFile());
    }

    public Process npxClaude(String prompt) throws IOException {
        // ruleid: java-agent-inline-launch, java-agent-inherits-environment
        return new ProcessBuilder("npx", "-y", "@anthropic-ai/claude-code", "-p", prompt).start();
    }

    public Process shellCodex() throws IOException {
        // ruleid: java-agent-inline-launch, java-agent-inherits-environment, java-agent-permission-bypass
        return new ProcessBuilder("bash", "-lc", "cd /srv/ws && codex exec --dangerously-bypass-approvals-and-sandbox 'fix tests'").start();
    }

    public Process builtCommand(String prompt) throws IOException {
        List<String> command = new ArrayList<>();
        command.add("claude");
        command.add("-p");
        command.add(prompt);
        if (unattended) {
            command.add("--dangerously-skip-permissions");
        }
        // ruleid: java-agent-inline-launch, java-agent-inherits-environment, java-agent-permission-bypass
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.directory(workspace.toFile());
        return pb.start();
    }

    public Process reusedBuilder(String prompt) throws IOException {
        ProcessBuilder pb = new ProcessBuilder();
        pb.directory(workspace.toFile());
        // ruleid: java-agent-inline-launch, java-agent-inherits-environment
        pb.command("aider", "--message", prompt, "--no-auto-commits");
        return pb.start();
    }

    /** Still inline, but the environment is cleared and rebuilt by hand. */
    public Process clearedEnvironment(String prompt) throws IOException {
        // ruleid: java-agent-inline-launch
        ProcessBuilder pb = new ProcessBuilder("codex", "exec", "--sandbox", "workspace-write", prompt);
        Map<String, String> env = pb.environment();
        env.clear();
        env.put("PATH", "/usr/bin:/bin");
        env.put("CODEX_API_KEY", System.getenv("CODEX_API_KEY"));
        return pb.start();
    }

    public Process clearedInline(String prompt) throws IOException {
        // ruleid: java-agent-inline-launch
        ProcessBuilder pb = new ProcessBuilder("gemini", "-p", prompt);
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/bin");
        return pb.start();
    }

    public Process explicitEnvp(String prompt) throws IOException {
        String[] envp = {"PATH=/usr/bin", "HOME=/var/lib/agent/home"};
        // ruleid: java-agent-inline-launch
        return Runtime.getRuntime().exec(new String[]{"claude", "-p", prompt}, envp);
    }

    public Process inDocker(String prompt) throws IOException {
        // ok: java-agent-inline-launch, java-agent-inherits-environment, java-agent-permission-bypass
        return new ProcessBuilder("docker", "run", "--rm", "--network=none",
                "-v", workspace + ":/workspace:ro", image,
                "claude", "-p", prompt, "--dangerously-skip-permissions").start();
    }

    public Process inPodman(String prompt) throws IOException {
        // ok: java-agent-inline-launch, java-agent-inherits-environment, java-agent-permission-bypass
        return new ProcessBuilder(List.of("podman", "run", "--rm", image, "codex", "exec", "--yolo", prompt)).start();
    }

    public Process inBwrap(String prompt) throws IOException {
        // ok: java-agent-inline-launch, java-agent-inherits-environment, java-agent-permission-bypass
        return new ProcessBuilder("bwrap", "--ro-bind", "/usr", "/usr", "--unshare-all", "--clearenv",
                "--", "codex", "exec", "--dangerously-bypass-approvals-and-sandbox", prompt).start();
    }

    public Process inNsjail(String prompt) throws IOException {
        // ok: java-agent-inline-launch, java-agent-inherits-environment, java-agent-permission-bypass
        return Runtime.getRuntime().exec(new String[]{"nsjail", "--config", "agent.cfg", "--", "gemini", "--yolo", "-p", prompt});
    }

    public Process inSandboxExec(String prompt) throws IOException {
        // ok: java-agent-inline-launch, java-agent-inherits-environment, java-agent-permission-bypass
        return Runtime.getRuntime().exec("sandbox-exec -f agent.sb claude -p " + prompt + " --dangerously-skip-permissions");
    }

    public void notAgents() throws IOException {
        // ok: java-agent-inline-launch
        new ProcessBuilder("claude", "--version").start();
        // ok: java-agent-inline-launch
        new ProcessBuilder("git", "log", "--author=codex").start();
        // ok: java-agent-inline-launch
        Runtime.getRuntime().exec(new String[]{"which", "gemini"});
        // ok: java-agent-inline-launch
        Runtime.getRuntime().exec("echo claude");
        // ok: java-agent-permission-bypass
        new ProcessBuilder("grep", "-rn", "--yolo", "docs").start();
    }

    /** Generic names (goose, q, agent, amp ...) count only with one of their own companion arguments. */
    public void genericNames(String prompt) throws IOException {
        // ruleid: java-agent-inline-launch, java-agent-inherits-environment
        new ProcessBuilder("goose", "run", "-t", prompt).start();
        // ruleid: java-agent-inline-launch, java-agent-inherits-environment, java-agent-permission-bypass
        new ProcessBuilder(List.of("amp", "-x", prompt, "--dangerously-allow-all")).start();
        // ruleid: java-agent-inline-launch, java-agent-inherits-environment, java-agent-permission-bypass
        Runtime.getRuntime().exec("kiro-cli chat --trust-all-tools --no-interactive");
        // ok: java-agent-inline-launch, java-agent-inherits-environment, java-agent-permission-bypass
        new ProcessBuilder("goose", "info").start();
        // ok: java-agent-inline-launch, java-agent-inherits-environment, java-agent-permission-bypass
        new ProcessBuilder("q", "run", prompt).start();
        // ok: java-agent-inline-launch
        new ProcessBuilder("npx", "-p", "prettier", "prettier", "--check", ".").start();
        // ok: java-agent-inline-launch
        Runtime.getRuntime().exec("goose configure");
    }

    // Known gap: the agent binary comes from a constant.
    private static final String CODEX = "codex";

    public Process constantBinary(String prompt) throws IOException {
        // todoruleid: java-agent-inline-launch
        return new ProcessBuilder(CODEX, "exec", prompt).start();
    }
}
