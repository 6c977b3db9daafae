// The status bar item: how many functions of the active file are instrumented, and whether any
// is left to instrument (the server offers "Instrument whole file" only then).
import * as vscode from 'vscode';
import { DOCUMENTS, Server } from './server';

// Every line or fragment inserted for a function carries its stamp (core/markers.py), one stamp
// per function; unstamped markers are the file's own lines (imports).
const STAMP = /telemetry-inject:([0-9a-f]{8})/g;
const INSTRUMENT_FILE = 'source.telemetry-inject.instrumentFile';

export function instrumentedCount(text: string): number {
  return new Set(Array.from(text.matchAll(STAMP), (m) => m[1])).size;
}

export class Status implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'telemetryInject.status',
    vscode.StatusBarAlignment.Right,
    100,
  );
  private readonly subscriptions: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly server: Server) {
    this.item.name = 'Telemetry Inject';
    this.item.command = {
      title: 'Telemetry commands',
      command: 'workbench.action.quickOpen',
      arguments: ['>Telemetry: '],
    };
    this.subscriptions.push(
      vscode.window.onDidChangeActiveTextEditor(() => this.schedule(0)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === vscode.window.activeTextEditor?.document) this.schedule();
      }),
      server.onDidChange(() => this.schedule(0)),
    );
    this.schedule(0);
  }

  schedule(delay = 300): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.update(), delay);
  }

  private async update(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined || vscode.languages.match(DOCUMENTS, editor.document) === 0) {
      this.item.hide();
      return;
    }
    if (this.server.problem !== undefined) {
      this.show(
        '$(error) Telemetry',
        `${this.server.problem}\n\nFix it, then run Telemetry: Restart server.`,
      );
      return;
    }
    if (!this.server.running) {
      this.show('$(sync~spin) Telemetry', 'The telemetry-inject server is starting.');
      return;
    }
    const doc = editor.document;
    const version = doc.version;
    const count = instrumentedCount(doc.getText());
    const all = new vscode.Range(0, 0, doc.lineCount, 0);
    let actions: (vscode.CodeAction | vscode.Command)[] | undefined;
    try {
      actions = await vscode.commands.executeCommand(
        'vscode.executeCodeActionProvider',
        doc.uri,
        all,
        INSTRUMENT_FILE,
      );
    } catch {
      actions = undefined; // e.g. the server restarting; the next change or editor asks again
    }
    if (doc.version !== version || vscode.window.activeTextEditor !== editor) {
      return; // a newer update is scheduled
    }
    const more = (actions ?? []).some(
      (a) => a instanceof vscode.CodeAction && a.kind?.value === INSTRUMENT_FILE,
    );
    const fns = (n: number) => `${n} function${n === 1 ? '' : 's'}`;
    if (count === 0 && !more) {
      this.show('$(pulse) Telemetry: no functions', 'No function in this file can be instrumented.');
    } else if (more) {
      const tip = `${fns(count)} instrumented; more can be (Telemetry: Instrument whole file).`;
      this.show(`$(pulse) Telemetry: ${count} instrumented`, tip);
    } else {
      this.show(
        `$(pulse) Telemetry: ${count} instrumented (all)`,
        `Every function is instrumented (${fns(count)}).`,
      );
    }
  }

  private show(text: string, tooltip: string): void {
    this.item.text = text;
    this.item.tooltip = `${tooltip}\n\nClick for the Telemetry commands.`;
    this.item.show();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.item.dispose();
    this.subscriptions.forEach((s) => s.dispose());
  }
}
