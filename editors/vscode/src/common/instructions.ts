// "Instrument with instructions…": the server's command needs the user's text, which LSP has no
// request to ask for. When a code action runs the command without it, an input box asks.
import * as vscode from 'vscode';

// server/features/commands.py and server/actions.py
export const INSTRUMENT_WITH_INSTRUCTIONS = 'telemetry-inject.instrumentWithInstructions';
export const INSTRUCT_KIND = 'refactor.rewrite.telemetry-inject.instrumentWithInstructions';

let last = ''; // offered again next time: instructions are often repeated

/** The command's arguments with the instructions in; undefined when the user cancels. */
export async function withInstructions(args: unknown[]): Promise<unknown[] | undefined> {
  const first = args[0];
  const data: Record<string, unknown> =
    typeof first === 'string'
      ? { uri: first }
      : first !== null && typeof first === 'object'
        ? { ...(first as Record<string, unknown>) }
        : {};
  const given = data.instructions ?? args[1];
  if (typeof given === 'string' && given.trim()) {
    return args;
  }
  const name = typeof data.function === 'string' ? `\`${data.function}\`` : 'this function';
  const text = await vscode.window.showInputBox({
    title: `Telemetry: instrument ${name} with instructions`,
    prompt: 'What the model should add to the function, besides its telemetry',
    placeHolder: 'e.g. log every SQL query with its parameters',
    value: last,
    ignoreFocusOut: true,
    validateInput: (value) => (value.trim() ? undefined : 'Say what to instrument'),
  });
  if (text === undefined || !text.trim()) {
    return undefined;
  }
  last = text.trim();
  return [{ ...data, instructions: last }, ...args.slice(1)];
}
