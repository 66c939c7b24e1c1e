// memlens for VS Code: starts `memlens serve` for Go and Python files and
// lets vscode-languageclient show what it offers (the "Profile memory" code
// lens, end-of-line inlay hints, the summary lens, hovers, progress). The
// extension itself adds settings, palette commands and the memory timeline
// webview (src/timeline.ts), opened by the server's Timeline lens or the
// palette; everything else is the language server's.
//
// The binary: memlens.path when set, else memlens on PATH, else the one a
// platform package carries in bin/ (editors/vscode/build.sh TARGET).
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import { TimelineData, TimelinePanel, sameUri } from './timeline';

// The server's commands, as listed in its executeCommandProvider. The
// palette commands below have their own ids because vscode-languageclient
// already registers the server's ids as VS Code commands.
const serverCommandProfileAtCursor = 'memlens.profileAtCursor';
const serverCommandClear = 'memlens.clear';
const serverCommandTimeline = 'memlens.timeline';

const languages = ['go', 'python'];

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let extensionPath = '';
let extensionUri: vscode.Uri;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  extensionPath = context.extensionPath;
  output = vscode.window.createOutputChannel('memlens');
  context.subscriptions.push(output);
  extensionUri = context.extensionUri;

  context.subscriptions.push(
    vscode.commands.registerCommand('memlens.editor.profileAtCursor', profileAtCursor),
    vscode.commands.registerCommand('memlens.editor.clear', clear),
    vscode.commands.registerCommand('memlens.editor.restart', restart),
    vscode.commands.registerCommand('memlens.editor.showTimeline', showTimeline),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      // A new binary needs a new process; the other settings reach the
      // running server in the same shape as initializationOptions.
      if (e.affectsConfiguration('memlens.path')) {
        await restart();
      } else if (e.affectsConfiguration('memlens') && client?.state === State.Running) {
        await client.sendNotification(DidChangeConfigurationNotification.type, {
          settings: { memlens: serverSettings() },
        });
      }
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}

// serverSettings is what the server receives, under "memlens", both as
// initializationOptions and in workspace/didChangeConfiguration.
export function serverSettings(scope?: vscode.ConfigurationScope): Record<string, unknown> {
  const c = vscode.workspace.getConfiguration('memlens', scope);
  return {
    timeout: c.get<string>('timeout', '2m'),
    env: c.get<Record<string, string>>('env', {}),
    hints: c.get<string[]>('hints', []),
    python: c.get<string>('python', ''),
    buildFlags: c.get<string[]>('buildFlags', []),
    diagnostics: c.get<boolean>('diagnostics', false),
    sampleInterval: c.get<string>('sampleInterval', '') || undefined,
  };
}

const exe = process.platform === 'win32' ? 'memlens.exe' : 'memlens';

// findOnPath returns the first executable file named name in PATH's
// directories (with Windows' PATHEXT extensions), or undefined.
function findOnPath(name: string): string | undefined {
  const exts = process.platform === 'win32' ? (process.env.PATHEXT || '.EXE').split(';').map((e) => e.toLowerCase()) : [''];
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const file = path.join(dir, name + ext);
      try {
        if (fs.statSync(file).isFile()) {
          fs.accessSync(file, fs.constants.X_OK);
          return file;
        }
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

// bundledBinary returns the memlens a platform package carries, made
// executable if unpacking lost the mode bits, or undefined.
function bundledBinary(): string | undefined {
  const file = path.join(extensionPath, 'bin', exe);
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return file;
  } catch {
    try {
      fs.chmodSync(file, 0o755);
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      return undefined;
    }
  }
}

// serverBinary chooses the memlens to run and says where it came from.
export function serverBinary(): { command: string; from: string } | undefined {
  const configured = (vscode.workspace.getConfiguration('memlens').get<string>('path') || '').trim();
  if (configured) {
    return { command: configured, from: 'memlens.path' };
  }
  const onPath = findOnPath('memlens');
  if (onPath) {
    return { command: onPath, from: 'PATH' };
  }
  const bundled = bundledBinary();
  if (bundled) {
    return { command: bundled, from: 'this extension' };
  }
  return undefined;
}

// platformPackage is the name of the .vsix that carries memlens for this
// machine (build.sh's targets).
function platformPackage(): string {
  const os = process.platform === 'linux' && fs.existsSync('/etc/alpine-release') ? 'alpine' : process.platform;
  const arch = process.arch === 'arm' ? 'armhf' : process.arch;
  return `memlens-${os}-${arch}.vsix`;
}

// missingBinaryMessage says how to get memlens when there is none at all.
function missingBinaryMessage(): string {
  return (
    'memlens: no memlens binary found. It is not on PATH, memlens.path is not set, and this package ' +
    `carries none. Install the package for this platform, ${platformPackage()} (\`make vsix\` in a clone of ` +
    'memlens builds it), or install memlens itself (`make install` or `go install .` in the clone) and run ' +
    '"memlens: Restart language server".'
  );
}

async function start(): Promise<void> {
  const binary = serverBinary();
  if (!binary) {
    const message = missingBinaryMessage();
    output.appendLine(message);
    void vscode.window.showErrorMessage(message, 'Open Settings').then((choice) => {
      if (choice === 'Open Settings') {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'memlens.path');
      }
    });
    return;
  }
  const command = binary.command;
  output.appendLine(`memlens: starting ${command} serve (from ${binary.from})`);
  const serverOptions: ServerOptions = {
    run: { command, args: ['serve'], transport: TransportKind.stdio },
    debug: { command, args: ['serve'], transport: TransportKind.stdio },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: languages.map((language) => ({ scheme: 'file', language })),
    initializationOptions: { memlens: serverSettings() },
    outputChannel: output,
    middleware: {
      // The Timeline lens runs the server's memlens.timeline, which
      // vscode-languageclient registered as a command: draw its answer.
      executeCommand: async (command, args, next) => {
        const result = await next(command, args);
        if (command === serverCommandTimeline && result) {
          openTimeline(result as TimelineData);
        }
        return result;
      },
      // The open timeline follows its function's new runs (Re-profile, a
      // click on the lens): the Timeline lens names the run it summarizes.
      provideCodeLenses: async (document, token, next) => {
        const lenses = await next(document, token);
        followNewRun(lenses);
        return lenses;
      },
    },
  };
  client = new LanguageClient('memlens', 'memlens', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    void vscode.window.showErrorMessage(
      `memlens: could not start "${command} serve" (from ${binary.from}): ${message}. Set memlens.path to the memlens binary.`,
    );
  }
}

async function stop(): Promise<void> {
  const c = client;
  client = undefined;
  if (c && c.state !== State.Stopped) {
    await c.stop();
  }
}

async function restart(): Promise<void> {
  await stop();
  await start();
}

// runningClient returns the client when the server is up, and otherwise says
// why nothing can happen.
function runningClient(): LanguageClient | undefined {
  if (!client || client.state !== State.Running) {
    void vscode.window.showWarningMessage('memlens: the language server is not running (see Output › memlens).');
    return undefined;
  }
  return client;
}

async function profileAtCursor(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !languages.includes(editor.document.languageId)) {
    void vscode.window.showInformationMessage('memlens: open a Go or Python file and put the cursor in a function.');
    return;
  }
  const c = runningClient();
  if (!c) {
    return;
  }
  const doc = editor.document;
  const pos = editor.selection.active;
  await executeServerCommand(c, serverCommandProfileAtCursor, {
    uri: c.code2ProtocolConverter.asUri(doc.uri),
    position: { line: pos.line, character: pos.character },
  });
}

async function clear(): Promise<void> {
  const c = runningClient();
  if (!c) {
    return;
  }
  const editor = vscode.window.activeTextEditor;
  const args = editor ? { uri: c.code2ProtocolConverter.asUri(editor.document.uri) } : {};
  await executeServerCommand(c, serverCommandClear, args);
}

// showTimeline opens the memory timeline of the profiled function at the
// cursor, else of the file's latest profile, else of the latest of all.
async function showTimeline(): Promise<void> {
  const c = runningClient();
  if (!c) {
    return;
  }
  const editor = vscode.window.activeTextEditor;
  let args = {};
  if (editor && languages.includes(editor.document.languageId)) {
    const pos = editor.selection.active;
    args = {
      uri: c.code2ProtocolConverter.asUri(editor.document.uri),
      position: { line: pos.line, character: pos.character },
    };
  }
  const result = await executeServerCommand(c, serverCommandTimeline, args);
  if (result) {
    openTimeline(result as TimelineData);
  }
}

// followNewRun fetches the timeline of a newer run of the function the
// open timeline shows, when one of lenses names one.
function followNewRun(lenses: vscode.CodeLens[] | null | undefined): void {
  const shown = TimelinePanel.shown();
  const c = client;
  if (!shown || !lenses || !c) {
    return;
  }
  for (const lens of lenses) {
    const cmd = lens.command;
    if (cmd?.command !== serverCommandTimeline || !cmd.arguments?.length) {
      continue;
    }
    const a = cmd.arguments[0] as { uri?: string; function?: string; run?: number };
    if (a.function === shown.function && a.uri && sameUri(a.uri, shown.uri) && typeof a.run === 'number' && a.run !== shown.run) {
      void executeServerCommand(c, serverCommandTimeline, a).then((r) => {
        if (r) {
          TimelinePanel.follow(r as TimelineData);
        }
      });
      return;
    }
  }
}

function openTimeline(data: TimelineData): void {
  const c = client;
  TimelinePanel.show(extensionUri, data, (uri) => (c ? c.protocol2CodeConverter.asUri(uri) : vscode.Uri.parse(uri)));
}

async function executeServerCommand(c: LanguageClient, command: string, args: unknown): Promise<unknown> {
  try {
    return await c.sendRequest(ExecuteCommandRequest.type, { command, arguments: [args] });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    void vscode.window.showErrorMessage(`memlens: ${command}: ${message}`);
    return undefined;
  }
}
