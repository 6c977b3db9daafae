// The palette commands. They take no arguments: they act on the active editor.
import * as fs from 'fs';
import * as vscode from 'vscode';
import { INSTRUCT_KIND } from './instructions';
import { resolveInterpreter, runCli } from './python';
import { DOCUMENTS, Server } from './server';
import { cacheDir, workspaceFolder } from './settings';
import { Status } from './status';

// The server's commands (server/features/commands.py) and code action kind (server/actions.py).
const INSTRUMENT_FILE = 'telemetry-inject.instrumentFile';
const REMOVE_FILE = 'telemetry-inject.removeFile';
export const INSTRUMENT_KIND = 'refactor.rewrite.telemetry-inject.instrument';

export function registerCommands(
  server: Server,
  status: Status,
  output: vscode.LogOutputChannel,
): vscode.Disposable[] {
  const fileCommand = (command: string) => async () => {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined) {
      void vscode.window.showWarningMessage('Telemetry: open a source file first.');
      return;
    }
    if (vscode.languages.match(DOCUMENTS, editor.document) === 0) {
      void vscode.window.showWarningMessage(
        `Telemetry: ${editor.document.fileName} is not in a language telemetry-inject knows.`,
      );
      return;
    }
    // The server applies the edit (workspace/applyEdit) and reports what it did.
    await server.command(command, editor.document.uri);
    status.schedule(0);
  };
  const python = () => server.interpreter?.path ?? resolveInterpreter(workspaceFolder()).path;
  const cache = async (action: 'stats' | 'clear') => {
    const folder = workspaceFolder();
    const dir = cacheDir(folder);
    if (dir === undefined) {
      void vscode.window.showInformationMessage(
        'Telemetry: the script cache is off (telemetryInject.cache).',
      );
      return;
    }
    if (!fs.existsSync(dir)) {
      void vscode.window.showInformationMessage(`Telemetry: no script cache yet in ${dir}.`);
      return;
    }
    let out: string;
    try {
      out = await runCli(python(), ['cache', action, '--cache-dir', dir], folder?.uri.fsPath);
    } catch (e) {
      output.error(`cache ${action}: ${String(e)}`);
      void vscode.window.showErrorMessage(
        `Telemetry: cache ${action} failed: ${e instanceof Error ? e.message : e}`,
      );
      return;
    }
    output.info(`cache ${action}: ${out.trim()}`);
    const message = action === 'stats' ? describeStats(dir, out) : out.trim();
    void vscode.window.showInformationMessage(`Telemetry: ${message}`);
  };
  return [
    vscode.commands.registerCommand('telemetryInject.instrumentFile', fileCommand(INSTRUMENT_FILE)),
    vscode.commands.registerCommand('telemetryInject.removeFile', fileCommand(REMOVE_FILE)),
    vscode.commands.registerCommand('telemetryInject.instrumentFunction', () =>
      vscode.commands.executeCommand('editor.action.codeAction', { kind: INSTRUMENT_KIND, apply: 'first' }),
    ),
    // The code action runs the server's command; the client's middleware asks for the text.
    vscode.commands.registerCommand('telemetryInject.instrumentWithInstructions', () =>
      vscode.commands.executeCommand('editor.action.codeAction', { kind: INSTRUCT_KIND, apply: 'first' }),
    ),
    vscode.commands.registerCommand('telemetryInject.showCacheStats', () => cache('stats')),
    vscode.commands.registerCommand('telemetryInject.clearCache', async () => {
      await cache('clear');
      status.schedule(0);
    }),
    vscode.commands.registerCommand('telemetryInject.restart', () => server.start()),
    vscode.commands.registerCommand('telemetryInject.showLogs', () => output.show()),
  ];
}

/** `telemetry-inject cache stats` prints JSON: {"directory", "scripts", "results", "hits", "bytes"}. */
function describeStats(dir: string, json: string): string {
  let stats: Record<string, unknown>;
  try {
    stats = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trim();
  }
  const parts = Object.entries(stats)
    .filter(([key]) => key !== 'directory')
    .map(([key, value]) =>
      key === 'bytes' && typeof value === 'number' ? size(value) : `${String(value)} ${key}`,
    );
  return `script cache ${dir}: ${parts.join(', ')}`;
}

function size(bytes: number): string {
  return bytes < 1024
    ? `${bytes} B`
    : bytes < 1 << 20
      ? `${(bytes / 1024).toFixed(0)} KiB`
      : `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}
