// Settings: the server's own keys (server/settings.py, section `telemetryInject`) mirrored one to
// one, plus the client's: the interpreter and the protocol trace, never sent to the server.
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';

export const SECTION = 'telemetryInject';
export const SERVER_KEYS = ['profile', 'probes', 'cache', 'cacheDir', 'sandbox', 'llm'] as const;
// The server's default cache folder beside the workspace (core.cache.DEFAULT_DIR).
const DEFAULT_CACHE_DIR = '.telemetry_cache';

export type ServerSettings = Record<(typeof SERVER_KEYS)[number], unknown>;

/** The server's keys of a `telemetryInject` object; the server reports any other key. */
export function serverSection(value: unknown): Partial<ServerSettings> {
  const out: Partial<ServerSettings> = {};
  if (value === null || typeof value !== 'object') {
    return out;
  }
  const record = value as Record<string, unknown>;
  for (const key of SERVER_KEYS) {
    if (record[key] !== undefined) {
      out[key] = record[key];
    }
  }
  return out;
}

export function serverSettings(folder?: vscode.WorkspaceFolder): Partial<ServerSettings> {
  return serverSection(vscode.workspace.getConfiguration(undefined, folder?.uri).get(SECTION));
}

export function workspaceFolder(): vscode.WorkspaceFolder | undefined {
  return vscode.workspace.workspaceFolders?.[0];
}

/** `~`, `${workspaceFolder}`, `${env:NAME}` (as VS Code's own settings spell them). */
export function expand(value: string, folder?: vscode.WorkspaceFolder): string {
  let out = value.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name) => process.env[name] ?? '');
  if (folder) {
    out = out.replace(/\$\{workspaceFolder\}/g, folder.uri.fsPath);
  }
  if (out === '~' || out.startsWith('~/')) {
    out = path.join(os.homedir(), out.slice(1));
  }
  return out;
}

/** `$NAME` and `${NAME}`, as the server's os.path.expandvars reads cacheDir (unset: kept). */
function expandVars(value: string): string {
  return value.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (all, a, b) => {
    const v = process.env[a ?? b];
    return v === undefined ? all : v;
  });
}

export function interpreterSetting(folder?: vscode.WorkspaceFolder): string {
  const raw = vscode.workspace.getConfiguration(SECTION, folder?.uri).get<string>('interpreter', '');
  return raw.trim() ? expand(raw.trim(), folder) : '';
}

/** The folder the server caches scripts in (Settings.cache_path), or undefined when off. */
export function cacheDir(folder?: vscode.WorkspaceFolder): string | undefined {
  const config = vscode.workspace.getConfiguration(SECTION, folder?.uri);
  if (!config.get<boolean>('cache', true)) {
    return undefined;
  }
  const root = folder?.uri.fsPath;
  const dir = config.get<string>('cacheDir', '').trim();
  if (dir) {
    let full = expandVars(dir);
    if (full === '~' || full.startsWith('~/')) {
      full = path.join(os.homedir(), full.slice(1));
    }
    return path.isAbsolute(full) || root === undefined ? full : path.join(root, full);
  }
  if (root !== undefined) {
    return path.join(root, DEFAULT_CACHE_DIR);
  }
  const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(xdg, 'telemetry-inject');
}
