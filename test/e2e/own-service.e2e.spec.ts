import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAMEWORK_RECORD_TYPES } from '@esflow/core';
import { freePort } from '../support/app-process';
import { waitFor } from '../support/wait-for';

/**
 * The README's "Use esflow in your own service", as written: its files are written and its
 * commands run, in order, in a fresh project outside this repository, against the packages as
 * `npm pack` packs them (no workspace links, no tsconfig paths). Two deviations, both because
 * of this machine and not of esflow: `npm install` skips install scripts and the test copies
 * the better-sqlite3 binary this repository compiled (users download its prebuilt binary;
 * here it would be compiled again, for two minutes), and the port is a free one.
 */
const REPO = resolve(__dirname, '../..');

interface Step {
  readonly kind: 'file' | 'bash';
  readonly path?: string;
  readonly text: string;
}

function readmeSteps(): Step[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf('## Use esflow in your own service');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const steps: Step[] = [];
  const block = /(?:\*\*`([^`]+)`\*\*\n\n)?```(\w+)\n([\s\S]*?)```/g;
  for (const match of section.matchAll(block)) {
    const [, path, language, text] = match;
    if (path) steps.push({ kind: 'file', path, text: text! });
    else if (language === 'bash') steps.push({ kind: 'bash', text: text! });
  }
  return steps;
}

describe('README: use esflow in your own service (packed packages, a project outside the repository)', () => {
  const parent = mkdtempSync(join(tmpdir(), 'esflow-own-service-'));
  const project = join(parent, 'leave-service');
  const steps = readmeSteps();
  let server: ChildProcess | undefined;
  let serverLog = '';
  let port = 0;
  const outputs: string[] = [];

  // The project's own tools must not see that they run under this test runner.
  const environment = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(VITEST|TEST$|NODE_ENV$)/.test(name)),
  );
  const bash = (script: string) =>
    execFileSync('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: project,
      encoding: 'utf8',
      timeout: 240_000,
      env: {
        ...environment,
        // Offline-friendly and without install scripts: see the note at the top.
        npm_config_ignore_scripts: 'true',
        npm_config_prefer_offline: 'true',
        npm_config_audit: 'false',
        npm_config_fund: 'false',
        npm_config_update_notifier: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  beforeAll(async () => {
    mkdirSync(project);
    port = await freePort();
    for (const step of steps) {
      if (step.kind === 'file') {
        mkdirSync(dirname(join(project, step.path!)), { recursive: true });
        writeFileSync(join(project, step.path!), step.text);
        continue;
      }
      const script = step.text
        .replaceAll('/path/to/esflow', REPO)
        .replaceAll('localhost:3000', `127.0.0.1:${port}`);
      const lines = script.trimEnd().split('\n');
      if (lines.at(-1) === 'npm start') {
        if (lines.length > 1) outputs.push(bash(lines.slice(0, -1).join('\n')));
        // A process group of its own, so that stopping it stops node too, not only npm.
        server = spawn('npm', ['start'], {
          cwd: project,
          env: { ...environment, PORT: String(port) },
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        });
        server.stdout!.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
        server.stderr!.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
        await waitFor(
          () =>
            fetch(`http://127.0.0.1:${port}/workflows?limit=1`).then(
              (response) => response.ok,
              () => false,
            ),
          { timeoutMs: 30_000, intervalMs: 100, what: `the service to answer:\n${serverLog}` },
        );
        continue;
      }
      outputs.push(bash(script));
      if (script.includes('npm install --save-exact')) {
        // The native binary: see the note at the top.
        cpSync(
          join(REPO, 'node_modules/better-sqlite3/build'),
          join(project, 'node_modules/better-sqlite3/build'),
          { recursive: true },
        );
      }
    }
  }, 600_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((done) => server!.once('exit', done));
      process.kill(-server.pid!, 'SIGTERM');
      await exited;
    }
    rmSync(parent, { recursive: true, force: true });
  });

  it('has the steps it promises', () => {
    expect(steps.filter((step) => step.kind === 'file').map((step) => step.path)).toEqual(
      expect.arrayContaining([
        'tsconfig.json',
        'src/leave/leave-request.workflow.ts',
        'schemas/leaveRequest/LeaveRequested.avsc',
        'src/app.module.ts',
        'esflow.config.ts',
        'test/leave-request.spec.ts',
      ]),
    );
  });

  it('installs esflow from the packed tarballs only, never from the repository', () => {
    const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const name of ['@esflow/core', '@esflow/nest', '@esflow/sqlite', '@esflow/testing'])
      expect(manifest.dependencies[name]).toMatch(/^file:.*\.tgz$/);
    // Resolved inside the project: a real copy, not a link into the workspace.
    const resolved = execFileSync(process.execPath, ['-p', "require.resolve('@esflow/core')"], {
      cwd: project,
      encoding: 'utf8',
    }).trim();
    expect(resolved.startsWith(join(project, 'node_modules'))).toBe(true);
  });

  it("runs the schema gate on the project's own schemas", () => {
    const all = outputs.join('\n');
    // leaveRequest's four and every framework fact of @esflow/core.
    const subjects = 4 + FRAMEWORK_RECORD_TYPES.length;
    expect(all).toContain(`registered ${subjects} schema versions`);
    expect(all).toContain(`schemas check passed: ${subjects} subjects`);
    const lock = JSON.parse(readFileSync(join(project, 'schemas/schemas.lock.json'), 'utf8')) as {
      subjects: Record<string, unknown>;
    };
    expect(Object.keys(lock.subjects)).toEqual(
      expect.arrayContaining([
        'esflow.leaveRequest.LeaveRequested',
        'esflow.leaveRequest.NotifyManager',
        'esflow.framework.CommandDispatched',
        'esflow.framework.TimerScheduled',
        'esflow.framework.TimerCancelled',
        'esflow.framework.TimerFired',
      ]),
    );
  });

  it("passes the project's own tests, written with @esflow/testing", () => {
    const all = stripVTControlCharacters(outputs.join('\n'));
    expect(all).toMatch(/Test Files\s+2 passed/);
    expect(all).toMatch(/Tests\s+4 passed/);
  });

  it('serves the workflow over REST, validated by its schemas, and its projection answers', () => {
    const answers = outputs
      .at(-1)!
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(answers[0]).toEqual({
      workflow: 'leaveRequest',
      id: 'lr-1',
      version: 1,
      state: 'awaitingManager',
      status: 'running',
      revision: 1,
      pendingTimers: [],
    });
    expect(answers[1]).toMatchObject({
      code: 'SCHEMA_VALIDATION_FAILED',
      errors: [{ path: 'input.days', message: 'must be a 32-bit integer, got "two"' }],
    });
    expect(answers[2]).toMatchObject({ state: 'approved', status: 'completed', revision: 3 });
    const history = answers.find((answer) => Array.isArray(answer['events'])) as {
      events: { type: string }[];
    };
    expect(history.events.map((event) => event.type)).toEqual([
      'LeaveRequested',
      'CommandDispatched',
      'ManagerApproved',
      'WorkflowCompleted',
    ]);
    expect(answers.at(-1)).toEqual({
      items: [
        expect.objectContaining({ requestId: 'lr-3', team: 'blue', days: 1, employeeId: 'e-9' }),
      ],
    });
  });

  it("serves one OpenAPI document for esflow's routes and the service's own", async () => {
    const response = await fetch(`http://127.0.0.1:${port}/docs/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      info: { title: string };
      paths: Record<string, unknown>;
    };
    expect(document.info.title).toBe('Leave requests');
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/workflows/{workflow}',
        '/workflows/{workflow}/{id}/events',
        '/leave-requests/pending',
      ]),
    );
  });
});
