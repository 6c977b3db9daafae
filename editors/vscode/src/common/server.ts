// The language server: started with the resolved Python, restarted when the interpreter setting
// changes, told to re-read its settings when any other of its settings changes.
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from 'vscode-languageclient/node';
import { INSTRUMENT_WITH_INSTRUCTIONS, withInstructions } from './instructions';
import { importProblem, Interpreter, resolveInterpreter, SERVER_MODULE } from './python';
import { SECTION, serverSection, serverSettings, workspaceFolder } from './settings';

// The extensions of core/languages/*/language.toml: the server picks the language by path,
// so files open without a language extension installed (Kotlin, Swift) are served too.
const EXTENSIONS =
  'py,js,mjs,cjs,jsx,ts,mts,cts,tsx,go,java,c,h,cpp,cc,cxx,c++,hpp,hh,hxx,h++,ipp,tpp,rs,rb,php,swift,kt';
export const DOCUMENTS = [{ scheme: 'file', pattern: `**/*.{${EXTENSIONS}}` }];

export class Server implements vscode.Disposable {
  client: LanguageClient | undefined;
  interpreter: Interpreter | undefined;
  problem: string | undefined; // why the server cannot run, when it cannot
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly output: vscode.LogOutputChannel) {}

  get running(): boolean {
    return this.client?.state === State.Running;
  }

  /** (Re)start; calls run one after another, so a restart never races a start. */
  start(): Promise<void> {
    this.queue = this.queue.then(() => this.restart()).catch((e) => this.output.error(String(e)));
    return this.queue;
  }

  private async restart(): Promise<void> {
    await this.stop();
    const folder = workspaceFolder();
    const python = resolveInterpreter(folder);
    this.interpreter = python;
    this.problem = undefined;
    this.changed.fire();
    this.output.info(`Python: ${python.path} (from ${python.source})`);
    const problem = await importProblem(python.path);
    if (problem !== undefined) {
      this.problem = `${python.path} (from ${python.source}) cannot run the server: ${problem}`;
      this.output.error(this.problem);
      this.changed.fire();
      void this.tellNotInstalled(python, problem);
      return;
    }
    const client = createClient(python.path, folder, this.output);
    client.onDidChangeState(() => this.changed.fire());
    this.client = client;
    try {
      await client.start();
    } catch (e) {
      this.problem = `the server did not start: ${e instanceof Error ? e.message : String(e)}`;
      this.output.error(this.problem);
      void vscode.window.showErrorMessage(`Telemetry: ${this.problem}`, 'Show Logs').then((pick) => {
        if (pick) this.output.show();
      });
    }
    this.changed.fire();
  }

  private async tellNotInstalled(python: Interpreter, problem: string): Promise<void> {
    const pick = await vscode.window.showErrorMessage(
      `Telemetry: ${python.path} (from ${python.source}) cannot run the telemetry-inject server (${problem}). ` +
        `Install it into that Python with "${python.path} -m pip install telemetry-inject", ` +
        'or set telemetryInject.interpreter to a Python that has it.',
      'Open Settings',
      'Show Logs',
      'Retry',
    );
    if (pick === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.interpreter`);
    } else if (pick === 'Show Logs') {
      this.output.show();
    } else if (pick === 'Retry') {
      await this.start();
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      try {
        await client.stop(2000);
      } catch (e) {
        this.output.warn(`stopping the server: ${String(e)}`);
      }
    }
  }

  async configurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
    if (event.affectsConfiguration(`${SECTION}.interpreter`)) {
      await this.start();
    } else if (event.affectsConfiguration(SECTION) && this.client && this.running) {
      // No settings in the notification: the server asks for them (through the filter below).
      await this.client.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
    }
  }

  /** Runs one of the server's commands on a document; undefined when the server is not up. */
  async command(command: string, uri: vscode.Uri): Promise<unknown> {
    const client = this.client;
    if (client === undefined || !this.running) {
      void vscode.window.showWarningMessage(
        `Telemetry: the server is not running${this.problem ? ` (${this.problem})` : ''}.`,
      );
      return undefined;
    }
    const args = [client.code2ProtocolConverter.asUri(uri)];
    return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
  }

  dispose(): void {
    void this.stop();
    this.changed.dispose();
  }
}

function createClient(
  python: string,
  folder: vscode.WorkspaceFolder | undefined,
  output: vscode.LogOutputChannel,
): LanguageClient {
  const serverOptions: ServerOptions = {
    command: python,
    args: ['-m', SERVER_MODULE, 'lsp'],
    options: { cwd: folder?.uri.fsPath },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: DOCUMENTS,
    outputChannel: output,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    initializationOptions: serverSettings(folder),
    middleware: {
      // The server's "Instrument with instructions…" action carries no text: ask for it here.
      executeCommand: async (command, args, next) => {
        if (command !== INSTRUMENT_WITH_INSTRUCTIONS) {
          return next(command, args);
        }
        const asked = await withInstructions(args);
        return asked === undefined ? undefined : next(command, asked);
      },
      workspace: {
        // Only the server's own keys: it reports unknown ones (the interpreter is ours).
        configuration: async (params, token, next) => {
          const result = await next(params, token);
          if (!Array.isArray(result)) {
            return result;
          }
          return result.map((value, i) =>
            params.items[i]?.section === SECTION ? serverSection(value) : value,
          );
        },
      },
    },
  };
  return new LanguageClient('telemetryInject', 'Telemetry Inject', serverOptions, clientOptions);
}
