package com.acme.ci.agent

import java.io.File
import java.util.concurrent.TimeUnit

/** Gradle-side helper that asks a coding agent to fix a failing module. */
class AgentFixer(private val workspace: File, private val image: String, private val unattended: Boolean) {

    fun fixWithClaude(prompt: String): Int {
        // ruleid: kotlin-agent-inline-launch, kotlin-agent-inherits-environment, kotlin-agent-permission-bypass
        val pb = ProcessBuilder("claude", "-p", prompt, "--dangerously-skip-permissions")
        pb.directory(workspace)
        pb.inheritIO()
        return pb.start().waitFor()
    }

    fun fixWithCodex(prompt: String): Process {
        // ruleid: kotlin-agent-inline-launch, kotlin-agent-inherits-environment, kotlin-agent-permission-bypass
        return ProcessBuilder(listOf("codex", "exec", "--sandbox", "danger-full-access", prompt))
            .directory(workspace)
            .redirectErrorStream(true)
            .start()
    }

    fun geminiRuntime(prompt: String): Process {
        // ruleid: kotlin-agent-inline-launch, kotlin-agent-inherits-environment, kotlin-agent-permission-bypass
        return Runtime.getRuntime().exec(arrayOf("gemini", "--approval-mode", "yolo", "-p", prompt))
    }

    fun shellOpencode(task: String): Process {
        // ruleid: kotlin-agent-inline-launch, kotlin-agent-inherits-environment
        return ProcessBuilder("sh", "-c", "cd ${workspace.path} && opencode run \"$task\"").start()
    }

    fun builtArgs(prompt: String): Process {
        val args = mutableListOf("claude", "-p", prompt, "--output-format", "json")
        if (unattended) {
            args += "--dangerously-skip-permissions"
        }
        // ruleid: kotlin-agent-inline-launch, kotlin-agent-inherits-environment, kotlin-agent-permission-bypass
        return ProcessBuilder(args).directory(workspace).start()
    }

    fun npxCodex(prompt: String): Process {
        // ruleid: kotlin-agent-inline-launch, kotlin-agent-inherits-environment
        return ProcessBuilder("npx", "--yes", "@openai/codex", "exec", prompt).start()
    }

    /** Inline, but with the parent environment cleared first. */
    fun clearedEnv(prompt: String): Process {
        // ruleid: kotlin-agent-inline-launch
        val pb = ProcessBuilder("codex", "exec", prompt)
        pb.environment().clear()
        pb.environment()["PATH"] = "/usr/bin:/bin"
        return pb.start()
    }

    fun clearedApply(prompt: String): Process {
        // ruleid: kotlin-agent-inline-launch
        return ProcessBuilder("aider", "--message", prompt).apply {
            environment().clear()
            environment()["PATH"] = "/usr/bin"
            directory(workspace)
        }.start()
    }

    fun inDocker(prompt: String): Process {
        // ok: kotlin-agent-inline-launch, kotlin-agent-inherits-environment, kotlin-agent-permission-bypass
        return ProcessBuilder("docker", "run", "--rm", "--network=none", "-v", "${workspace.path}:/workspace:ro", image,
            "claude", "-p", prompt, "--dangerously-skip-permissions").start()
    }

    fun inFirejail(prompt: String): Process {
        // ok: kotlin-agent-inline-launch, kotlin-agent-inherits-environment, kotlin-agent-permission-bypass
        return ProcessBuilder(listOf("firejail", "--private", "--net=none", "codex", "exec", "--yolo", prompt)).start()
    }

    fun inSrt(prompt: String): Process {
        // ok: kotlin-agent-inline-launch, kotlin-agent-inherits-environment, kotlin-agent-permission-bypass
        return ProcessBuilder("srt", "gemini --yolo -p '$prompt'").start()
    }

    /** Generic names (goose, q, agent, amp ...) count only with one of their own companion arguments. */
    fun genericNames(prompt: String) {
        // ruleid: kotlin-agent-inline-launch, kotlin-agent-inherits-environment
        ProcessBuilder("goose", "run", "-t", prompt).start()
        // ruleid: kotlin-agent-inline-launch, kotlin-agent-inherits-environment, kotlin-agent-permission-bypass
        ProcessBuilder(listOf("amp", "-x", prompt, "--dangerously-allow-all")).start()
        // ruleid: kotlin-agent-inline-launch, kotlin-agent-inherits-environment, kotlin-agent-permission-bypass
        ProcessBuilder("sh", "-c", "kiro-cli chat --trust-all-tools --no-interactive").start()
        // ok: kotlin-agent-inline-launch, kotlin-agent-inherits-environment, kotlin-agent-permission-bypass
        ProcessBuilder("goose", "info").start()
        // ok: kotlin-agent-inline-launch, kotlin-agent-inherits-environment, kotlin-agent-permission-bypass
        ProcessBuilder("q", "run", prompt).start()
        // ok: kotlin-agent-inline-launch
        ProcessBuilder("npx", "-p", "prettier", "prettier", "--check", ".").start()
        // ok: kotlin-agent-inline-launch
        ProcessBuilder("sh", "-c", "goose configure").start()
    }

    fun probes() {
        // ok: kotlin-agent-inline-launch
        ProcessBuilder("claude", "--version").start().waitFor(5, TimeUnit.SECONDS)
        // ok: kotlin-agent-inline-launch
        ProcessBuilder("git", "log", "--grep", "codex").start()
        // ok: kotlin-agent-inline-launch
        Runtime.getRuntime().exec(arrayOf("which", "claude"))
    }
}
