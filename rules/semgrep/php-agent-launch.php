<?php

declare(strict_types=1);

namespace App\Jobs;

use Symfony\Component\Process\Process;

/** Queue job: asks a coding agent to draft a fix for a reported bug in the checked-out repo. */
final class AgentFixJob
{
    public function __construct(
        private string $workdir,
        private string $image,
        private bool $unattended = false,
    ) {
    }

    public function claude(string $prompt): string
    {
        $descriptors = [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']];
        // ruleid: php-agent-inline-launch, php-agent-inherits-environment, php-agent-permission-bypass
        $proc = proc_open(['claude', '-p', $prompt, '--dangerously-skip-permissions'], $descriptors, $pipes, $this->workdir);
        $out = stream_get_contents($pipes[1]);
        proc_close($proc);
        return (string) $out;
    }

    public function codex(string $prompt): ?string
    {
        // ruleid: php-agent-inline-launch, php-agent-inherits-environment, php-agent-permission-bypass
        return shell_exec('codex exec --sandbox danger-full-access ' . escapeshellarg($prompt) . ' 2>&1');
    }

    public function gemini(string $prompt): int
    {
        // ruleid: php-agent-inline-launch, php-agent-inherits-environment, php-agent-permission-bypass
        exec("cd {$this->workdir} && gemini --approval-mode yolo -p " . escapeshellarg($prompt), $output, $code);
        return $code;
    }

    public function aider(string $message): void
    {
        // ruleid: php-agent-inline-launch, php-agent-inherits-environment
        passthru(sprintf('aider --message %s --no-auto-commits', escapeshellarg($message)));
    }

    public function backtick(): string
    {
        // ruleid: php-agent-inline-launch, php-agent-inherits-environment, php-agent-permission-bypass
        return `codex exec --yolo "summarise the failing tests"`;
    }

    public function symfony(string $prompt): string
    {
        $args = ['claude', '-p', $prompt];
        // ruleid: php-agent-inline-launch, php-agent-inherits-environment
        $process = new Process(['npx', '-y', '@anthropic-ai/claude-code', '-p', $prompt], $this->workdir);
        $process->setTimeout(600);
        $process->mustRun();
        return $process->getOutput();
    }

    public function nullEnv(string $prompt): void
    {
        // ruleid: php-agent-inline-launch, php-agent-inherits-environment
        $proc = proc_open(['opencode', 'run', $prompt], [], $pipes, $this->workdir, null);
        proc_close($proc);
    }

    /** Inline, but proc_open gets an explicit minimal environment. */
    public function minimalEnv(string $prompt): void
    {
        // ruleid: php-agent-inline-launch
        $proc = proc_open(['codex', 'exec', $prompt], [], $pipes, $this->workdir, ['PATH' => '/usr/bin:/bin']);
        proc_close($proc);
    }

    public function inDocker(string $prompt): ?string
    {
        // ok: php-agent-inline-launch, php-agent-inherits-environment, php-agent-permission-bypass
        return shell_exec('docker run --rm --network=none -v ' . escapeshellarg($this->workdir . ':/workspace:ro') . ' ' . $this->image . ' claude -p ' . escapeshellarg($prompt) . ' --dangerously-skip-permissions');
    }

    public function inPodman(string $prompt): void
    {
        // ok: php-agent-inline-launch, php-agent-inherits-environment, php-agent-permission-bypass
        $proc = proc_open(['podman', 'run', '--rm', $this->image, 'codex', 'exec', '--yolo', $prompt], [], $pipes);
        proc_close($proc);
    }

    public function inFirejail(string $prompt): void
    {
        // ok: php-agent-inline-launch, php-agent-inherits-environment, php-agent-permission-bypass
        system('firejail --private --net=none gemini --yolo -p ' . escapeshellarg($prompt));
    }

    /** Generic names (goose, q, agent, amp ...) count only with one of their own companion arguments. */
    public function genericNames(string $prompt): void
    {
        // ruleid: php-agent-inline-launch, php-agent-inherits-environment
        proc_close(proc_open(['goose', 'run', '-t', $prompt], [], $pipes));
        // ruleid: php-agent-inline-launch, php-agent-inherits-environment, php-agent-permission-bypass
        (new Process(['amp', '-x', $prompt, '--dangerously-allow-all']))->run();
        // ruleid: php-agent-inline-launch, php-agent-inherits-environment, php-agent-permission-bypass
        shell_exec('kiro-cli chat --trust-all-tools --no-interactive');
        // ok: php-agent-inline-launch, php-agent-inherits-environment, php-agent-permission-bypass
        proc_close(proc_open(['goose', 'info'], [], $pipes));
        // ok: php-agent-inline-launch, php-agent-inherits-environment, php-agent-permission-bypass
        (new Process(['q', 'run', $prompt]))->run();
        // ok: php-agent-inline-launch
        (new Process(['npx', '-p', 'prettier', 'prettier', '--check', '.']))->run();
        // ok: php-agent-inline-launch
        exec('goose configure', $out);
    }

    public function probes(): void
    {
        // ok: php-agent-inline-launch
        exec('claude --version', $out);
        // ok: php-agent-inline-launch
        exec('git log --author=codex', $out);
        // ok: php-agent-inline-launch
        system('echo claude');
    }

    // Known gap: the command line is assembled in a variable first.
    public function fromVariable(string $prompt): void
    {
        $cmd = 'claude -p ' . escapeshellarg($prompt);
        // todoruleid: php-agent-inline-launch
        shell_exec($cmd);
    }
}
