// Which Python runs the server: the setting, else the workspace's .venv, else python3 on PATH;
// and whether that Python can import the server at all.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { interpreterSetting } from './settings';

export const SERVER_MODULE = 'telemetry_inject.server.cli';

export interface Interpreter {
  path: string;
  source: 'setting telemetryInject.interpreter' | 'workspace .venv' | 'PATH';
}

export function resolveInterpreter(folder?: vscode.WorkspaceFolder): Interpreter {
  const configured = interpreterSetting(folder);
  if (configured) {
    return { path: configured, source: 'setting telemetryInject.interpreter' };
  }
  if (folder) {
    const venv =
      process.platform === 'win32'
        ? path.join(folder.uri.fsPath, '.venv', 'Scripts', 'python.exe')
        : path.join(folder.uri.fsPath, '.venv', 'bin', 'python');
    if (fs.existsSync(venv)) {
      return { path: venv, source: 'workspace .venv' };
    }
  }
  return { path: process.platform === 'win32' ? 'python' : 'python3', source: 'PATH' };
}

/** Undefined when `python` imports the server; else what went wrong, in one line. */
export function importProblem(python: string): Promise<string | undefined> {
  // The server module with everything it loads (pygls, lsprotocol, the engine).
  const code = 'import telemetry_inject.server.app';
  return new Promise((resolve) => {
    execFile(python, ['-c', code], { timeout: 30000 }, (error, _stdout, stderr) => {
      if (!error) {
        resolve(undefined);
      } else if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        resolve(`${python} does not exist`);
      } else {
        const last = stderr.trim().split('\n').pop();
        resolve(last || error.message);
      }
    });
  });
}

/** Runs the command line tool with this Python; resolves with stdout, rejects with stderr. */
export function runCli(python: string, args: string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(python, ['-m', SERVER_MODULE, ...args], { cwd, timeout: 60000 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(stderr.trim().split('\n').pop() || error.message));
      } else {
        resolve(stdout);
      }
    });
  });
}
