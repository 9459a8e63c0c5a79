// Package review runs a coding agent over a checked-out pull request and posts its findings.
package review

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

const claudeBinary = "claude"

type Runner struct {
	Workdir     string
	Image       string
	SkipPrompts bool
	Model       string
}

// ReviewWithCodex: the classic inline launch, full parent environment, sandbox turned off.
func (r *Runner) ReviewWithCodex(ctx context.Context, prompt string) ([]byte, error) {
	// ruleid: go-agent-inline-launch, go-agent-inherits-environment, go-agent-permission-bypass
	cmd := exec.CommandContext(ctx, "codex", "exec", "--sandbox", "danger-full-access", prompt)
	cmd.Dir = r.Workdir
	return cmd.Output()
}

// Env explicitly built from the parent environment is still the whole environment.
func (r *Runner) ReviewWithClaude(ctx context.Context, prompt string) error {
	// ruleid: go-agent-inline-launch, go-agent-inherits-environment, go-agent-permission-bypass
	cmd := exec.CommandContext(ctx, "claude", "-p", prompt, "--dangerously-skip-permissions")
	cmd.Env = append(os.Environ(), "CLAUDE_CODE_MAX_OUTPUT_TOKENS=8000")
	cmd.Dir = r.Workdir
	return cmd.Run()
}

func (r *Runner) Gemini(prompt string) error {
	// ruleid: go-agent-inline-launch, go-agent-inherits-environment, go-agent-permission-bypass
	cmd := exec.Command("/usr/local/bin/gemini", "--approval-mode", "yolo", "-p", prompt)
	cmd.Env = os.Environ()
	return cmd.Run()
}

// Bypass flag added conditionally to an args slice.
func (r *Runner) Claude(ctx context.Context, prompt string) (string, error) {
	args := []string{"-p", prompt, "--output-format", "json", "--model", r.Model}
	if r.SkipPrompts {
		args = append(args, "--dangerously-skip-permissions")
	}
	env := os.Environ()
	env = append(env, "NO_COLOR=1")
	// ruleid: go-agent-inline-launch, go-agent-inherits-environment, go-agent-permission-bypass
	cmd := exec.CommandContext(ctx, "claude", args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	return out.String(), err
}

// The agent through npx, shelled out with a timeout wrapper that is no sandbox.
func (r *Runner) NpxClaude(ctx context.Context, prompt string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	// ruleid: go-agent-inline-launch, go-agent-inherits-environment
	return exec.CommandContext(ctx, "npx", "-y", "@anthropic-ai/claude-code@latest", "-p", prompt).Run()
}

func (r *Runner) ShellCodex(ctx context.Context, prompt string) error {
	// ruleid: go-agent-inline-launch, go-agent-inherits-environment, go-agent-permission-bypass
	cmd := exec.CommandContext(ctx, "bash", "-lc", "cd "+r.Workdir+" && codex exec --yolo \"$PROMPT\"")
	cmd.Env = append(cmd.Environ(), "PROMPT="+prompt)
	return cmd.Run()
}

func (r *Runner) ShellClaude(ctx context.Context) error {
	// ruleid: go-agent-inline-launch, go-agent-inherits-environment, go-agent-permission-bypass
	return exec.CommandContext(ctx, "sh", "-c", "cd /srv/checkout && claude -p 'fix the build' --permission-mode bypassPermissions").Run()
}

// A minimal, explicit environment: still inline, but not the operator's credentials.
func (r *Runner) AiderMinimalEnv(ctx context.Context, msg string) error {
	// ruleid: go-agent-inline-launch
	cmd := exec.CommandContext(ctx, "aider", "--message", msg, "--no-auto-commits")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + filepath.Join(r.Workdir, ".home")}
	return cmd.Run()
}

func (r *Runner) CodexReadOnly(ctx context.Context, prompt string) error {
	// ruleid: go-agent-inline-launch
	cmd := exec.CommandContext(ctx, "codex", "exec", "--sandbox", "read-only", prompt)
	cmd.Env = []string{"PATH=/usr/bin", "CODEX_API_KEY=" + os.Getenv("CODEX_API_KEY")}
	return cmd.Run()
}

// Docker wrapper: the container is the boundary, the bypass flag is inside it.
func (r *Runner) ReviewInContainer(ctx context.Context, prompt string) error {
	// ok: go-agent-inline-launch, go-agent-inherits-environment, go-agent-permission-bypass
	cmd := exec.CommandContext(ctx, "docker", "run", "--rm", "--network", "none",
		"-v", r.Workdir+":/workspace:ro", r.Image,
		"codex", "exec", "--dangerously-bypass-approvals-and-sandbox", prompt)
	return cmd.Run()
}

func (r *Runner) ReviewInPodman(ctx context.Context, prompt string) error {
	// ok: go-agent-inline-launch, go-agent-inherits-environment, go-agent-permission-bypass
	return exec.CommandContext(ctx, "podman", "run", "--rm", "--userns=keep-id", r.Image, "claude", "-p", prompt, "--dangerously-skip-permissions").Run()
}

func (r *Runner) ReviewInBwrap(ctx context.Context, prompt string) error {
	// ok: go-agent-inline-launch, go-agent-inherits-environment, go-agent-permission-bypass
	cmd := exec.CommandContext(ctx, "bwrap", "--ro-bind", "/usr", "/usr", "--bind", r.Workdir, "/workspace",
		"--unshare-all", "--die-with-parent", "--clearenv", "--", "claude", "-p", prompt, "--dangerously-skip-permissions")
	return cmd.Run()
}

func (r *Runner) ReviewInFirejail(prompt string) error {
	// ok: go-agent-inline-launch, go-agent-inherits-environment, go-agent-permission-bypass
	return exec.Command("firejail", "--net=none", "--private", "gemini", "--yolo", "-p", prompt).Run()
}

func (r *Runner) ReviewWithSrt(prompt string) error {
	// ok: go-agent-inline-launch, go-agent-inherits-environment, go-agent-permission-bypass
	return exec.Command("srt", "claude -p '"+prompt+"' --dangerously-skip-permissions").Run()
}

func (r *Runner) ShellInDocker(ctx context.Context) error {
	// ok: go-agent-inline-launch, go-agent-inherits-environment, go-agent-permission-bypass
	return exec.CommandContext(ctx, "sh", "-c", "docker run --rm -v \"$PWD:/workspace:ro\" agent-image sh -c 'cd /workspace && codex exec --yolo'").Run()
}

// Not agent launches: version probes, codex's own sandbox helper, agent names as arguments.
func Probe(ctx context.Context) {
	// ok: go-agent-inline-launch
	_ = exec.CommandContext(ctx, "claude", "--version").Run()
	// ok: go-agent-inline-launch
	_ = exec.Command("codex", "sandbox", "linux", "--", "make", "test").Run()
	// ok: go-agent-inline-launch
	_ = exec.Command("which", "claude").Run()
	// ok: go-agent-inline-launch
	_ = exec.Command("git", "log", "--author", "codex").Run()
	// ok: go-agent-inline-launch
	_ = exec.Command("sh", "-c", "echo claude is installed").Run()
	// ok: go-agent-permission-bypass
	_ = exec.Command("grep", "-r", "--dangerously-skip-permissions", ".").Run()
	// ok: go-agent-inline-launch
	_ = exec.Command("npx", "-y", "prettier", "--write", ".").Run()
	// ruleid: go-agent-inline-launch, go-agent-inherits-environment
	_ = exec.Command("claude", "-p", "explain what --yolo does").Run()
	fmt.Println("probe done")
}

// Generic names (goose, q, agent, amp ...) count only with one of their own companion arguments.
func (r *Runner) GenericNames(ctx context.Context, prompt string) {
	// ruleid: go-agent-inline-launch, go-agent-inherits-environment
	_ = exec.CommandContext(ctx, "goose", "run", "-t", prompt).Run()
	// ruleid: go-agent-inline-launch, go-agent-inherits-environment, go-agent-permission-bypass
	_ = exec.Command("amp", "-x", prompt, "--dangerously-allow-all").Run()
	// ruleid: go-agent-inline-launch, go-agent-inherits-environment, go-agent-permission-bypass
	_ = exec.Command("sh", "-c", "kiro-cli chat --trust-all-tools --no-interactive").Run()
	// ok: go-agent-inline-launch, go-agent-inherits-environment, go-agent-permission-bypass
	_ = exec.Command("goose", "info").Run()
	// ok: go-agent-inline-launch, go-agent-inherits-environment, go-agent-permission-bypass
	_ = exec.Command("q", "run", prompt).Run()
	// ok: go-agent-inline-launch
	_ = exec.Command("npx", "-p", "prettier", "prettier", "--check", ".").Run()
	// ok: go-agent-inline-launch
	_ = exec.Command("sh", "-c", "goose configure").Run()
}

// Known gaps: the agent name behind a named constant, and a Cmd built as a struct literal.
func Gaps(prompt string) {
	// todoruleid: go-agent-inline-launch
	_ = exec.Command(claudeBinary, "-p", prompt).Run()
	// todoruleid: go-agent-inline-launch
	c := &exec.Cmd{Path: "/usr/local/bin/codex", Args: []string{"codex", "exec", prompt}}
	_ = c.Run()
}
