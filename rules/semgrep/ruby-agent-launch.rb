# lib/tasks/agent_review.rake -- lets a coding agent review the diff of a release branch.
require "open3"
require "shellwords"

namespace :agent do
  desc "Ask Claude Code to review the current diff"
  task review: :environment do
    prompt = "Review #{ENV.fetch('RELEASE_BRANCH')} for security problems"
    # ruleid: ruby-agent-inline-launch, ruby-agent-inherits-environment, ruby-agent-permission-bypass
    system("claude", "-p", prompt, "--dangerously-skip-permissions", exception: true)
  end

  desc "Let Codex fix the failing specs"
  task fix_specs: :environment do
    # ruleid: ruby-agent-inline-launch, ruby-agent-inherits-environment, ruby-agent-permission-bypass
    out, status = Open3.capture2e({ "CODEX_QUIET_MODE" => "1" }, "codex", "exec", "--sandbox", "danger-full-access", "make the specs pass")
    abort(out) unless status.success?
  end
end

class AgentRunner
  def initialize(workdir, image, unattended: false)
    @workdir = workdir
    @image = image
    @unattended = unattended
  end

  def gemini(prompt)
    # ruleid: ruby-agent-inline-launch, ruby-agent-inherits-environment, ruby-agent-permission-bypass
    stdout, stderr, status = Open3.capture3("gemini", "--approval-mode", "yolo", "-p", prompt, chdir: @workdir)
    [stdout, stderr, status]
  end

  def shell_codex(task)
    # ruleid: ruby-agent-inline-launch, ruby-agent-inherits-environment, ruby-agent-permission-bypass
    system("cd #{@workdir} && codex exec --yolo #{Shellwords.escape(task)}")
  end

  def backticks(prompt)
    # ruleid: ruby-agent-inline-launch, ruby-agent-inherits-environment, ruby-agent-permission-bypass
    `claude -p #{Shellwords.escape(prompt)} --permission-mode bypassPermissions`
  end

  def percent_x
    # ruleid: ruby-agent-inline-launch, ruby-agent-inherits-environment
    %x(aider --message "tidy the README" --no-auto-commits)
  end

  def background(prompt)
    # ruleid: ruby-agent-inline-launch, ruby-agent-inherits-environment
    pid = spawn("opencode", "run", prompt, chdir: @workdir, out: "log/opencode.log")
    Process.detach(pid)
  end

  def popen(prompt)
    # ruleid: ruby-agent-inline-launch, ruby-agent-inherits-environment
    Open3.popen3("npx", "-y", "@google/gemini-cli", "-p", prompt) do |stdin, stdout, _stderr, wait|
      stdin.close
      stdout.each_line { |line| Rails.logger.info(line) }
      wait.value
    end
  end

  def built_command(prompt)
    cmd = ["claude", "-p", prompt, "--output-format", "json"]
    cmd << "--dangerously-skip-permissions" if @unattended
    # ruleid: ruby-agent-inline-launch, ruby-agent-inherits-environment, ruby-agent-permission-bypass
    Open3.capture2(*cmd, chdir: @workdir)
  end

  def io_popen(prompt)
    # ruleid: ruby-agent-inline-launch, ruby-agent-inherits-environment
    IO.popen(["codex", "exec", prompt], err: [:child, :out], &:read)
  end

  # Inline, but the parent environment is dropped.
  def clean_env(prompt)
    # ruleid: ruby-agent-inline-launch
    system({ "PATH" => "/usr/bin:/bin", "HOME" => @workdir }, "codex", "exec", prompt, unsetenv_others: true)
  end

  def in_docker(prompt)
    # ok: ruby-agent-inline-launch, ruby-agent-inherits-environment, ruby-agent-permission-bypass
    system("docker", "run", "--rm", "--network=none", "-v", "#{@workdir}:/workspace:ro", @image,
           "claude", "-p", prompt, "--dangerously-skip-permissions")
  end

  def in_podman_shell(prompt)
    # ok: ruby-agent-inline-launch, ruby-agent-inherits-environment, ruby-agent-permission-bypass
    system("podman run --rm #{@image} codex exec --yolo #{Shellwords.escape(prompt)}")
  end

  def in_bwrap(prompt)
    # ok: ruby-agent-inline-launch, ruby-agent-inherits-environment, ruby-agent-permission-bypass
    Open3.capture2("bwrap", "--ro-bind", "/usr", "/usr", "--unshare-all", "--clearenv", "--", "gemini", "--yolo", "-p", prompt)
  end

  def in_firejail(prompt)
    # ok: ruby-agent-inline-launch, ruby-agent-inherits-environment, ruby-agent-permission-bypass
    `firejail --private --net=none claude -p #{Shellwords.escape(prompt)} --dangerously-skip-permissions`
  end

  def probes
    # ok: ruby-agent-inline-launch
    system("claude", "--version")
    # ok: ruby-agent-inline-launch
    system("which", "codex")
    # ok: ruby-agent-inline-launch
    `git log --author=codex --oneline`
    # ok: ruby-agent-inline-launch
    system("echo claude is installed")
  end

  # Generic names (goose, q, agent, amp ...) count only with one of their own companion arguments.
  def generic_names(prompt)
    # ruleid: ruby-agent-inline-launch, ruby-agent-inherits-environment
    system("goose", "run", "-t", prompt)
    # ruleid: ruby-agent-inline-launch, ruby-agent-inherits-environment, ruby-agent-permission-bypass
    Open3.capture2("amp", "-x", prompt, "--dangerously-allow-all")
    # ruleid: ruby-agent-inline-launch, ruby-agent-inherits-environment, ruby-agent-permission-bypass
    `kiro-cli chat --trust-all-tools --no-interactive`
    # ok: ruby-agent-inline-launch, ruby-agent-inherits-environment, ruby-agent-permission-bypass
    system("goose", "info")
    # ok: ruby-agent-inline-launch, ruby-agent-inherits-environment, ruby-agent-permission-bypass
    system("q", "run", prompt)
    # ok: ruby-agent-inline-launch
    system("npx", "-p", "prettier", "prettier", "--check", ".")
    # ok: ruby-agent-inline-launch
    system("goose configure")
  end

  # Known gap: the command is a frozen constant.
  CLAUDE = "claude".freeze

  def constant(prompt)
    # todoruleid: ruby-agent-inline-launch
    system(CLAUDE, "-p", prompt)
  end
end
