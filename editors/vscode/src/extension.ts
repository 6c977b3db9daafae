// Telemetry Inject for VS Code: starts the telemetry-inject language server (code actions, hover,
// whole-file commands) and adds palette commands, a keybinding and a status bar item.
import * as vscode from 'vscode';
import { registerCommands } from './common/commands';
import { Server } from './common/server';
import { Status } from './common/status';

let server: Server | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Telemetry Inject', { log: true });
  server = new Server(output);
  const status = new Status(server);
  context.subscriptions.push(
    output,
    server,
    status,
    ...registerCommands(server, status, output),
    vscode.workspace.onDidChangeConfiguration((e) => server?.configurationChanged(e)),
  );
  await server.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
}
