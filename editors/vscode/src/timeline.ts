// The memory timeline of a run in a webview: RSS and heap against time drawn
// by uPlot (bundled in the .vsix under node_modules/uplot, no CDN), the
// calls of the function shaded; hovering the chart shows the moment's
// figures and source line, clicking reveals that line in the editor. The
// data is the server's answer to memlens.timeline (see server/doc.go).
import * as vscode from 'vscode';

// TimelineData is the server's memlens.timeline answer.
export interface TimelineData {
  run: number;
  uri: string;
  function: string;
  language: string;
  entry: string;
  status: string;
  duration_ms: number;
  interval_ms: number;
  samples: { t_ms: number; rss_bytes: number; heap_bytes: number; function?: string; line?: number }[];
  calls: { start_ms: number; end_ms: number }[];
  lines: { line: number; at: number | null; content: string; samples: number; share: number }[];
  stale: boolean;
}

// A message from the webview.
type FromWebview = { type: 'ready' } | { type: 'reveal'; line: number };

// TimelinePanel is the one timeline webview; a new timeline replaces the
// one shown.
export class TimelinePanel {
  private static current: TimelinePanel | undefined;

  private data: TimelineData;
  private ready = false;

  static show(extensionUri: vscode.Uri, data: TimelineData, toUri: (uri: string) => vscode.Uri): void {
    const cur = TimelinePanel.current;
    if (cur) {
      cur.update(data);
      cur.panel.reveal(undefined, true);
      return;
    }
    TimelinePanel.current = new TimelinePanel(extensionUri, data, toUri);
  }

  // shown is the function and run the open panel shows.
  static shown(): { uri: string; function: string; run: number } | undefined {
    const d = TimelinePanel.current?.data;
    return d && { uri: d.uri, function: d.function, run: d.run };
  }

  // follow shows a newer run of the function the open panel shows; a
  // closed panel stays closed.
  static follow(data: TimelineData): void {
    const cur = TimelinePanel.current;
    if (cur && cur.data.function === data.function && sameUri(cur.data.uri, data.uri) && cur.data.run !== data.run) {
      cur.update(data);
    }
  }

  private readonly panel: vscode.WebviewPanel;

  private constructor(
    extensionUri: vscode.Uri,
    data: TimelineData,
    private readonly toUri: (uri: string) => vscode.Uri,
  ) {
    this.data = data;
    const media = vscode.Uri.joinPath(extensionUri, 'media');
    const uplot = vscode.Uri.joinPath(extensionUri, 'node_modules', 'uplot', 'dist');
    this.panel = vscode.window.createWebviewPanel(
      'memlens.timeline',
      title(data),
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [media, uplot], retainContextWhenHidden: true },
    );
    this.panel.onDidDispose(() => {
      if (TimelinePanel.current === this) {
        TimelinePanel.current = undefined;
      }
    });
    this.panel.webview.onDidReceiveMessage((m: FromWebview) => this.receive(m));
    this.panel.webview.html = this.html(media, uplot);
  }

  private update(data: TimelineData): void {
    this.data = data;
    this.panel.title = title(data);
    if (this.ready) {
      void this.panel.webview.postMessage({ type: 'timeline', timeline: data });
    }
  }

  private async receive(m: FromWebview): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        await this.panel.webview.postMessage({ type: 'timeline', timeline: this.data });
        return;
      case 'reveal':
        await this.reveal(m.line);
        return;
    }
  }

  // reveal shows the 0-based line of the function's file in the editor
  // column that has the file open (the first column otherwise), and puts
  // the cursor there.
  private async reveal(line: number): Promise<void> {
    const uri = this.toUri(this.data.uri);
    const open = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
    const column = open?.viewColumn ?? vscode.ViewColumn.One;
    const doc = await vscode.workspace.openTextDocument(uri);
    const at = new vscode.Position(Math.min(line, doc.lineCount - 1), 0);
    const editor = await vscode.window.showTextDocument(doc, { viewColumn: column, preserveFocus: false });
    editor.selection = new vscode.Selection(at, at);
    editor.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  private html(media: vscode.Uri, uplot: vscode.Uri): string {
    const w = this.panel.webview;
    const nonce = Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join('');
    const src = (base: vscode.Uri, file: string) => w.asWebviewUri(vscode.Uri.joinPath(base, file)).toString();
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${w.cspSource} data:; style-src ${w.cspSource} 'unsafe-inline'; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${src(uplot, 'uPlot.min.css')}">
<link rel="stylesheet" href="${src(media, 'timeline.css')}">
<title>memlens timeline</title>
</head>
<body>
<header id="head"></header>
<div id="chart"></div>
<div id="tip" hidden></div>
<section id="lines"></section>
<script nonce="${nonce}" src="${src(uplot, 'uPlot.iife.min.js')}"></script>
<script nonce="${nonce}" src="${src(media, 'timeline.js')}"></script>
</body>
</html>`;
  }
}

// sameUri compares two spellings of a URI (the client's and the server's).
export function sameUri(a: string, b: string): boolean {
  return a === b || vscode.Uri.parse(a).toString() === vscode.Uri.parse(b).toString();
}

function title(data: TimelineData): string {
  return `Memory timeline: ${data.function}`;
}
