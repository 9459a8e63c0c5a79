using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading.Tasks;

namespace Acme.Build.Agents
{
    /// <summary>Background service that asks a coding agent to fix a failing pipeline.</summary>
    public sealed class AgentFixService
    {
        private readonly string _workdir;
        private readonly string _image;
        private readonly bool _unattended;

        public AgentFixService(string workdir, string image, bool unattended)
        {
            _workdir = workdir;
            _image = image;
            _unattended = unattended;
        }

        public async Task<int> FixWithClaudeAsync(string prompt)
        {
            // ruleid: csharp-agent-inline-launch, csharp-agent-inherits-environment, csharp-agent-permission-bypass
            var psi = new ProcessStartInfo
            {
                FileName = "claude",
                Arguments = $"-p \"{prompt}\" --dangerously-skip-permissions",
                WorkingDirectory = _workdir,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            psi.Environment["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] = "8000";
            using var proc = Process.Start(psi)!;
            await proc.WaitForExitAsync();
            return proc.ExitCode;
        }

        public Process FixWithCodex(string prompt)
        {
            // ruleid: csharp-agent-inline-launch, csharp-agent-inherits-environment, csharp-agent-permission-bypass
            return Process.Start("codex", $"exec --sandbox danger-full-access \"{prompt}\"")!;
        }

        public Process Gemini(string prompt)
        {
            // ruleid: csharp-agent-inline-launch, csharp-agent-inherits-environment, csharp-agent-permission-bypass
            var psi = new ProcessStartInfo(@"C:\tools\gemini.cmd", "--approval-mode yolo -p \"" + prompt + "\"");
            return Process.Start(psi)!;
        }

        public Process ArgumentListBuilt(string prompt)
        {
            var psi = new ProcessStartInfo();
            // ruleid: csharp-agent-inline-launch, csharp-agent-inherits-environment, csharp-agent-permission-bypass
            psi.FileName = "claude";
            psi.ArgumentList.Add("-p");
            psi.ArgumentList.Add(prompt);
            if (_unattended)
            {
                psi.ArgumentList.Add("--dangerously-skip-permissions");
            }
            return Process.Start(psi)!;
        }

        public Process Npx(string prompt)
        {
            // ruleid: csharp-agent-inline-launch, csharp-agent-inherits-environment
            return Process.Start("npx", "-y @anthropic-ai/claude-code -p \"" + prompt + "\"")!;
        }

        public Process Shell()
        {
            // ruleid: csharp-agent-inline-launch, csharp-agent-inherits-environment, csharp-agent-permission-bypass
            var psi = new ProcessStartInfo("bash", "-c \"cd /srv/app && codex exec --yolo 'fix the build'\"");
            return Process.Start(psi)!;
        }

        public Process Aider(string message)
        {
            // ruleid: csharp-agent-inline-launch, csharp-agent-inherits-environment
            return Process.Start("aider", new[] { "--message", message, "--no-auto-commits" })!;
        }

        /// <summary>Still inline, but the inherited environment is cleared.</summary>
        public Process Cleared(string prompt)
        {
            // ruleid: csharp-agent-inline-launch
            var psi = new ProcessStartInfo("codex", $"exec \"{prompt}\"") { UseShellExecute = false };
            psi.Environment.Clear();
            psi.Environment["PATH"] = "/usr/bin:/bin";
            return Process.Start(psi)!;
        }

        public Process InDocker(string prompt)
        {
            // ok: csharp-agent-inline-launch, csharp-agent-inherits-environment, csharp-agent-permission-bypass
            var psi = new ProcessStartInfo("docker", $"run --rm --network=none -v {_workdir}:/workspace:ro {_image} claude -p \"{prompt}\" --dangerously-skip-permissions");
            return Process.Start(psi)!;
        }

        public Process InPodman(string prompt)
        {
            // ok: csharp-agent-inline-launch, csharp-agent-inherits-environment, csharp-agent-permission-bypass
            return Process.Start("podman", new[] { "run", "--rm", _image, "codex", "exec", "--yolo", prompt })!;
        }

        public Process InBwrap(string prompt)
        {
            // ok: csharp-agent-inline-launch, csharp-agent-inherits-environment, csharp-agent-permission-bypass
            var psi = new ProcessStartInfo
            {
                FileName = "bwrap",
                Arguments = $"--ro-bind /usr /usr --unshare-all --clearenv -- gemini --yolo -p \"{prompt}\"",
            };
            return Process.Start(psi)!;
        }

        /// <summary>Generic names (goose, q, agent, amp ...) count only with one of their own companion arguments.</summary>
        public void GenericNames(string prompt)
        {
            // ruleid: csharp-agent-inline-launch, csharp-agent-inherits-environment
            Process.Start("goose", $"run -t \"{prompt}\"");
            // ruleid: csharp-agent-inline-launch, csharp-agent-inherits-environment, csharp-agent-permission-bypass
            Process.Start(new ProcessStartInfo("amp", "-x \"" + prompt + "\" --dangerously-allow-all"));
            // ruleid: csharp-agent-inline-launch, csharp-agent-inherits-environment, csharp-agent-permission-bypass
            Process.Start("bash", "-c \"kiro-cli chat --trust-all-tools --no-interactive\"");
            // ok: csharp-agent-inline-launch, csharp-agent-inherits-environment, csharp-agent-permission-bypass
            Process.Start("goose", "info");
            // ok: csharp-agent-inline-launch, csharp-agent-inherits-environment, csharp-agent-permission-bypass
            Process.Start("q", "run build");
            // ok: csharp-agent-inline-launch
            Process.Start("npx", "-p prettier prettier --check .");
            // ok: csharp-agent-inline-launch
            Process.Start("bash", "-c \"goose configure\"");
        }

        public void Probes()
        {
            // ok: csharp-agent-inline-launch
            Process.Start("claude", "--version");
            // ok: csharp-agent-inline-launch
            Process.Start("git", "log --author=codex");
            // ok: csharp-agent-inline-launch
            Process.Start("where", "claude");
        }

        // Known gap: the binary name comes from a constant.
        private const string Codex = "codex";

        public Process FromConstant(string prompt)
        {
            // todoruleid: csharp-agent-inline-launch
            return Process.Start(Codex, $"exec \"{prompt}\"")!;
        }
    }
}
