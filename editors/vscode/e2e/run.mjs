// End-to-end driver for the memlens VS Code extension in real VS Code
// (code-server 4.100.3, VS Code 1.100.3) shown in headless Chromium through
// playwright-core. Run by editors/vscode_e2e_test.go with a plan in the
// MEMLENS_E2E environment variable (see `plan` below).
//
// It acts as a user does: installs the .vsix into a fresh profile, opens
// each file, clicks the "Profile memory" lens, hovers a line, and runs the
// palette commands; it reads back what the page shows (editor lines with
// their hints, lenses, the hover, notifications), saves screenshots, and
// writes it all as JSON to plan.out. The Go test judges it.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const plan = JSON.parse(process.env.MEMLENS_E2E);
// plan: {
//   codeServer: entry.js of code-server, chromium: browser binary,
//   playwright: directory of the playwright-core package,
//   vsix, bin (memlens.path, optional: without it the extension finds its
//   own), workspace (folder to open), artifacts (screenshots),
//   out (report path),
//   files: [{name, file (relative to workspace), funcLine, hoverLine, palette (bool),
//            timeline ("lens" | "palette": open the memory timeline that way),
//            choose (the button to press when the server asks which entry runs it)}],
//   settings: extra user settings,
//   missing (bool): the vsix carries no memlens and none is on PATH: open
//   the first file and report the notification that says how to get it
// }
const require = createRequire(import.meta.url);
const { chromium } = require(plan.playwright);

const report = { files: {}, steps: [], notifications: [] };
const step = (s) => {
  report.steps.push(s);
  console.log(`[e2e] ${s}`);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(what, ms, fn, every = 250) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'memlens-vscode-e2e-'));
let server;
let browser;
// The user settings file of the fresh profile; VS Code watches it.
let settingsFile;
let settings;

async function main() {
  const dataDir = path.join(tmp, 'data');
  const extDir = path.join(tmp, 'extensions');
  const config = path.join(tmp, 'config.yaml');
  fs.writeFileSync(config, 'auth: none\ncert: false\n');
  const common = ['--user-data-dir', dataDir, '--extensions-dir', extDir, '--config', config];

  const inst = spawnSync(process.execPath, [plan.codeServer, ...common, '--install-extension', plan.vsix], {
    encoding: 'utf8',
  });
  if (inst.status !== 0 || !/successfully installed/.test(inst.stdout + inst.stderr)) {
    throw new Error(`--install-extension failed:\n${inst.stdout}${inst.stderr}`);
  }
  step('vsix installed');

  fs.mkdirSync(path.join(dataDir, 'User'), { recursive: true });
  settingsFile = path.join(dataDir, 'User', 'settings.json');
  settings = {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'workbench.reduceMotion': 'on',
    'workbench.colorTheme': 'Default Dark Modern',
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.ignoreRecommendations': true,
    'editor.inlayHints.enabled': 'on',
    'editor.codeLens': true,
    'editor.minimap.enabled': false,
    'editor.hover.delay': 200,
    'editor.tabSize': 4,
    'editor.detectIndentation': false,
    'editor.renderWhitespace': 'none',
    'editor.fontSize': 14,
    'editor.stickyScroll.enabled': false,
    'chat.commandCenter.enabled': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'window.restoreWindows': 'none',
    'files.hotExit': 'off',
    'git.enabled': false,
    'git.openRepositoryInParentFolders': 'never',
    'editor.lightbulb.enabled': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    ...(plan.settings || {}),
  };
  if (plan.bin) settings['memlens.path'] = plan.bin;
  fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));

  const port = await freePort();
  server = spawn(
    process.execPath,
    [
      plan.codeServer,
      ...common,
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      plan.workspace,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let serverLog = '';
  server.stdout.on('data', (d) => (serverLog += d));
  server.stderr.on('data', (d) => (serverLog += d));
  report.serverLog = () => serverLog.slice(-4000);
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(plan.workspace)}`;
  await waitFor('code-server to listen', 30000, async () => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    } catch {
      return false;
    }
  });
  step('code-server up');

  browser = await chromium.launch({
    executablePath: plan.chromium,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1500, height: 950 }, reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  await page.goto(url);
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60000 });
  await page.locator('.statusbar').waitFor({ state: 'visible' });
  step('workbench ready');

  if (plan.missing) {
    report.missing = await missingBinary(page, plan.files[0]);
    return;
  }
  for (const f of plan.files) {
    report.files[f.name] = await profileFile(page, f);
  }
  const last = plan.files[plan.files.length - 1];
  report.files[last.name].settingsLines = await changeHintsSetting(page, last);
}

// changeHintsSetting edits settings.json as a user does, so that hints show
// only the occurrences, and returns the lines shown afterwards: the setting
// reaches the running server through workspace/didChangeConfiguration.
async function changeHintsSetting(page, f) {
  const base = path.basename(f.file);
  settings['memlens.hints'] = ['occurrences'];
  await runPaletteCommand(page, 'Preferences: Open User Settings (JSON)');
  await page.locator('.tab.active[aria-label^="settings.json"]').waitFor({ state: 'visible' });
  await page.locator('.editor-group-container.active .view-lines').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(JSON.stringify(settings, null, 2));
  await page.keyboard.press('Control+S');
  await sleep(500);
  await page.keyboard.press('Control+W');
  await page.locator(`.tab.active[aria-label^="${base}"]`).waitFor({ state: 'visible' });
  await waitFor('hints to follow memlens.hints', 30000, async () => {
    const texts = Object.values(hinted(await editorLines(page)));
    return texts.length > 0 && texts.every((t) => !/B\b/.test(t));
  });
  await sleep(500);
  const lines = await editorLines(page);
  await shot(page, `${f.name}-5-settings.png`);
  step(`${f.name}: hints follow the settings`);
  return lines;
}

// missingBinary opens a file, which starts the extension, and returns the
// notification it shows when it finds no memlens to run.
async function missingBinary(page, f) {
  await openFile(page, f);
  const text = await waitFor('the "no memlens binary" notification', 45000, async () =>
    (await notifications(page)).find((n) => /memlens/.test(n)),
  );
  const shotFile = await shot(page, 'missing-binary.png');
  step('missing binary: notified');
  return { notification: text, screenshot: shotFile };
}

// openFile opens f with Quick Open, as a user does.
async function openFile(page, f) {
  const base = path.basename(f.file);
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(f.file);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: base }).first().waitFor({ state: 'visible' });
  await page.keyboard.press('Enter');
  await page.locator(`.tab.active[aria-label^="${base}"]`).waitFor({ state: 'visible' });
  await page.locator('.editor-group-container.active .view-lines').waitFor({ state: 'visible' });
  step(`${f.name}: opened ${f.file}`);
}

// notifications collects the text of the notification toasts shown now.
async function notifications(page) {
  return page.$$eval('.notifications-toasts .notification-list-item-message', (els) =>
    els.map((e) => e.innerText.trim()),
  );
}

// editorLines returns the visible lines of the active editor as
// [{line, text, top, bottom}], text as shown (hints included, U+00A0 as spaces).
async function editorLines(page) {
  return page.evaluate(() => {
    const ed = document.querySelector('.editor-group-container.active .monaco-editor');
    if (!ed) return [];
    const nums = [...ed.querySelectorAll('.margin-view-overlays .line-numbers')].map((e) => ({
      n: parseInt(e.textContent.trim(), 10),
      top: e.getBoundingClientRect().top,
    }));
    const out = [];
    for (const el of ed.querySelectorAll('.view-lines .view-line')) {
      const r = el.getBoundingClientRect();
      const num = nums.find((x) => Math.abs(x.top - r.top) < 2);
      if (!num) continue;
      out.push({ line: num.n, text: el.innerText.replace(/\u00a0/g, ' '), top: r.top, bottom: r.bottom, left: r.left });
    }
    return out.sort((a, b) => a.line - b.line);
  });
}

// lensAbove returns the code lens shown right above `line`: its text and the
// titles of its commands.
async function lensAbove(page, line) {
  const lines = await editorLines(page);
  const target = lines.find((l) => l.line === line);
  if (!target) return null;
  return page.evaluate((top) => {
    const ed = document.querySelector('.editor-group-container.active .monaco-editor');
    let best = null;
    for (const el of ed.querySelectorAll('.codelens-decoration')) {
      const r = el.getBoundingClientRect();
      if (r.bottom <= top + 2 && r.bottom > top - 40 && (!best || r.bottom > best.bottom)) {
        best = { text: el.innerText.replace(/\u00a0/g, ' '), bottom: r.bottom, commands: [...el.querySelectorAll('a')].map((a) => a.innerText) };
      }
    }
    return best;
  }, target.top);
}

// clickLensCommand clicks the lens command titled title above line. Lenses
// are re-rendered when the server answers a lens request (after attach, on
// refreshes), which can detach the element found: find it again and retry.
async function clickLensCommand(page, line, title) {
  for (let attempt = 1; ; attempt++) {
    try {
      await clickLensCommandOnce(page, line, title);
      return;
    } catch (err) {
      if (attempt >= 5 || !/not attached|not stable|detached/i.test(String(err))) throw err;
      await sleep(300);
    }
  }
}

async function clickLensCommandOnce(page, line, title) {
  const lines = await editorLines(page);
  const target = lines.find((l) => l.line === line);
  const handle = await page.evaluateHandle(
    ({ top, title }) => {
      const ed = document.querySelector('.editor-group-container.active .monaco-editor');
      for (const el of ed.querySelectorAll('.codelens-decoration')) {
        const r = el.getBoundingClientRect();
        if (r.bottom <= top + 2 && r.bottom > top - 40) {
          for (const a of el.querySelectorAll('a')) {
            if (a.innerText.startsWith(title)) return a;
          }
        }
      }
      return null;
    },
    { top: target.top, title },
  );
  const el = handle.asElement();
  if (!el) throw new Error(`no "${title}" lens above line ${line}`);
  await el.click({ timeout: 5000 });
}

async function goToLine(page, line) {
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`:${line}`);
  await page.keyboard.press('Enter');
  await sleep(300);
}

async function runPaletteCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible' });
  await page.keyboard.press('Enter');
}

// hinted returns {line: text} of the visible lines that show a ×N hint.
function hinted(lines) {
  const out = {};
  for (const l of lines) if (l.text.includes('×')) out[l.line] = l.text;
  return out;
}

async function shot(page, name) {
  await sleep(400);
  const file = path.join(plan.artifacts, name);
  await page.screenshot({ path: file });
  return file;
}

async function profileFile(page, f) {
  const r = { screenshots: [] };
  await openFile(page, f);

  await goToLine(page, f.funcLine);
  r.lensBefore = await waitFor(`the "Profile memory" lens above line ${f.funcLine}`, 45000, async () => {
    const lens = await lensAbove(page, f.funcLine);
    return lens && lens.commands.some((c) => c.startsWith('Profile memory')) ? lens : null;
  });
  r.screenshots.push(await shot(page, `${f.name}-1-lens.png`));
  await clickLensCommand(page, f.funcLine, 'Profile memory');
  step(`${f.name}: clicked Profile memory`);
  if (f.choose) {
    // Tests of several packages reach the function: the server asks which
    // should run it (window/showMessageRequest), a notification with a
    // button per entry; the user picks f.choose.
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Which should run it?' }).first();
    await toast.waitFor({ state: 'visible', timeout: 120000 });
    r.question = (await toast.locator('.notification-list-item-message').innerText()).trim();
    r.choices = (await toast.locator('.monaco-button').allInnerTexts()).map((t) => t.trim());
    r.screenshots.push(await shot(page, `${f.name}-1-question.png`));
    await toast.locator('.monaco-button', { hasText: f.choose }).first().click();
    step(`${f.name}: chose ${f.choose}`);
  }

  r.lensAfter = await waitFor('the summary lens', 150000, async () => {
    const errors = (await notifications(page)).filter((n) => /fail|error|cannot/i.test(n));
    if (errors.length) throw new Error(`notification: ${errors.join(' | ')}`);
    // Not the "memory: profiling…" lens shown while the run is under way:
    // the summary of the finished run, with Re-profile and Clear beside it.
    const lens = await lensAbove(page, f.funcLine);
    return lens && /^memory: .*\d+ calls?\b/.test(lens.text) && lens.commands.some((c) => c.startsWith('Clear'))
      ? lens
      : null;
  });
  // Hints come with the same refresh; give the editor a moment to draw them all.
  await waitFor('hints', 20000, async () => Object.keys(hinted(await editorLines(page))).length > 0);
  await sleep(1000);
  r.lines = await editorLines(page);
  r.screenshots.push(await shot(page, `${f.name}-2-hints.png`));
  step(`${f.name}: hints shown`);

  // Hover over the code of hoverLine (not over its hint, which has its own
  // tooltip): the middle of the line's first word.
  const hl = r.lines.find((l) => l.line === f.hoverLine);
  if (!hl) throw new Error(`line ${f.hoverLine} is not visible`);
  const spot = await page.evaluate((top) => {
    const ed = document.querySelector('.editor-group-container.active .monaco-editor');
    for (const el of ed.querySelectorAll('.view-lines .view-line')) {
      if (Math.abs(el.getBoundingClientRect().top - top) >= 2) continue;
      for (const span of el.querySelectorAll('span > span')) {
        if (span.textContent.trim() === '') continue;
        const r = span.getBoundingClientRect();
        return { x: r.left + Math.min(r.width / 2, 10), y: (r.top + r.bottom) / 2 };
      }
    }
    return null;
  }, hl.top);
  if (!spot) throw new Error(`no code to hover on line ${f.hoverLine}`);
  await page.mouse.move(spot.x, spot.y);
  const hover = page.locator('.monaco-hover:not(.hidden) .monaco-hover-content, .monaco-hover:not(.hidden) .hover-contents').first();
  await hover.waitFor({ state: 'visible', timeout: 15000 });
  await sleep(500);
  r.hover = await hover.innerText();
  r.screenshots.push(await shot(page, `${f.name}-3-hover.png`));
  if (r.hover.includes('why on the heap')) {
    // The hover scrolls: bring its "why on the heap" section (Go) into view
    // for a screenshot of its own.
    await page.evaluate(() => {
      const root = document.querySelector('.monaco-hover:not(.hidden)');
      const head = [...root.querySelectorAll('strong, b')].find((e) => e.textContent.trim() === 'why on the heap');
      if (head) head.scrollIntoView({ block: 'start' });
    });
    r.screenshots.push(await shot(page, `${f.name}-3-hover-why.png`));
  }
  await page.mouse.move(5, 5);
  await page.keyboard.press('Escape');
  step(`${f.name}: hover read`);

  if (f.timeline) {
    r.timeline = await showTimeline(page, f);
  }

  if (f.palette) {
    // The palette's Clear, then Profile function at cursor from inside the body.
    await page.locator('.editor-group-container.active .view-lines').click({ position: { x: 5, y: 5 } });
    await runPaletteCommand(page, 'memlens: Clear');
    await waitFor('hints to go after memlens: Clear', 20000, async () => {
      const lens = await lensAbove(page, f.funcLine);
      return Object.keys(hinted(await editorLines(page))).length === 0 && lens && /Profile memory/.test(lens.text);
    });
    r.cleared = true;
    step(`${f.name}: cleared from the palette`);
    await goToLine(page, f.hoverLine);
    await runPaletteCommand(page, 'memlens: Profile function at cursor');
    await waitFor('hints after memlens: Profile function at cursor', 150000, async () => {
      const errors = (await notifications(page)).filter((n) => /fail|error|cannot/i.test(n));
      if (errors.length) throw new Error(`notification: ${errors.join(' | ')}`);
      return Object.keys(hinted(await editorLines(page))).length > 0;
    });
    await sleep(1000);
    r.paletteLines = await editorLines(page);
    r.screenshots.push(await shot(page, `${f.name}-4-palette.png`));
    step(`${f.name}: profiled from the palette`);

  }
  return r;
}

// cursorLine reads the cursor's line from the status bar ("Ln 9, Col 1").
async function cursorLine(page) {
  const text = await page.locator('[id="status.editor.selection"]').innerText().catch(() => '');
  const m = /Ln (\d+)/.exec(text);
  return m ? parseInt(m[1], 10) : null;
}

// showTimeline opens the memory timeline of f's function (by its Timeline
// lens or the palette), reads the chart, hovers it until the tooltip names
// a source line, clicks there and reads where the editor's cursor went.
async function showTimeline(page, f) {
  const r = {};
  const base = path.basename(f.file);
  if (f.timeline === 'lens') {
    await goToLine(page, f.funcLine);
    const lens = await waitFor('the Timeline lens', 20000, async () => {
      const l = await lensAbove(page, f.funcLine);
      return l && l.commands.some((c) => c.startsWith('Timeline')) ? l : null;
    });
    r.lens = lens.commands.find((c) => c.startsWith('Timeline'));
    // Lenses re-render when the server refreshes them: click again until
    // one click lands.
    await waitFor('a click on the Timeline lens', 20000, () =>
      clickLensCommand(page, f.funcLine, 'Timeline').then(
        () => true,
        () => false,
      ),
    );
  } else {
    await goToLine(page, f.hoverLine);
    await runPaletteCommand(page, 'memlens: Show memory timeline');
  }
  step(`${f.name}: timeline asked for (${f.timeline})`);
  const frame = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  await frame.locator('#chart[data-points] .uplot canvas').first().waitFor({ state: 'visible', timeout: 30000 });
  await sleep(500);
  r.tab = await page.locator('.tab[aria-label^="Memory timeline"]').first().getAttribute('aria-label');
  r.points = parseInt(await frame.locator('#chart').getAttribute('data-points'), 10);
  r.run = parseInt(await frame.locator('#chart').getAttribute('data-run'), 10);
  r.calls = parseInt(await frame.locator('#chart').getAttribute('data-calls'), 10);
  r.header = await frame.locator('#head').innerText();
  r.linesTable = await frame.locator('#lines').innerText();
  r.legend = await frame.locator('.u-legend').innerText();
  r.screenshots = [await shot(page, `${f.name}-6-timeline.png`)];
  step(`${f.name}: timeline shown, ${r.points} points`);

  // Hover across the plot, as a user runs the mouse over it, reading the
  // tooltip at each spot; keep a spot whose line is not the cursor's.
  const before = await cursorLine(page);
  const over = await frame.locator('.u-over').boundingBox();
  const tip = frame.locator('#tip');
  r.tips = [];
  let pick = null;
  for (let i = 1; i < 80; i++) {
    const x = over.x + (over.width * i) / 80;
    const y = over.y + over.height / 2;
    await page.mouse.move(x, y);
    await sleep(40);
    if (await tip.isHidden()) continue;
    const t = { x, y, text: await tip.innerText(), line: parseInt((await tip.getAttribute('data-line')) || '0', 10) };
    r.tips.push(t);
    if (t.line && t.line !== before && (!pick || (pick.line === f.funcLine && t.line !== f.funcLine))) pick = t;
  }
  if (!pick) throw new Error(`no point of the chart showed a source line other than ${before}: ${JSON.stringify(r.tips.slice(0, 5))}`);
  await page.mouse.move(pick.x, pick.y);
  await sleep(300);
  r.hover = { text: await tip.innerText(), line: pick.line };
  r.screenshots.push(await shot(page, `${f.name}-7-timeline-hover.png`));
  step(`${f.name}: timeline tooltip names line ${pick.line}`);

  // The click reveals the line in the editor, with the cursor on it.
  r.cursorBefore = before;
  await page.mouse.click(pick.x, pick.y);
  r.cursorAfter = await waitFor(`the cursor on line ${pick.line}`, 15000, async () => {
    const active = await page.locator('.tab.active').first().getAttribute('aria-label');
    const line = await cursorLine(page);
    return active && active.startsWith(base) && line === pick.line ? line : null;
  });
  r.screenshots.push(await shot(page, `${f.name}-8-timeline-click.png`));
  step(`${f.name}: the click revealed line ${r.cursorAfter}`);

  // Re-profile: the open timeline follows the new run.
  await waitFor('a click on the Re-profile lens', 20000, () =>
    clickLensCommand(page, f.funcLine, 'Re-profile').then(
      () => true,
      () => false,
    ),
  );
  r.followedRun = await waitFor('the open timeline showing the new run', 120000, async () => {
    const run = parseInt((await frame.locator('#chart').getAttribute('data-run')) || '0', 10);
    return run && run !== r.run ? run : null;
  });
  await sleep(500);
  r.followedPoints = parseInt(await frame.locator('#chart').getAttribute('data-points'), 10);
  r.screenshots.push(await shot(page, `${f.name}-9-timeline-followed.png`));
  step(`${f.name}: the timeline followed the re-profile (run ${r.run} -> ${r.followedRun})`);

  // Close the timeline, leaving the editor as it was.
  await page.locator('.tab[aria-label^="Memory timeline"] .tab-actions .action-label').first().click({ force: true });
  await page.locator('.tab[aria-label^="Memory timeline"]').waitFor({ state: 'detached', timeout: 10000 });
  await page.locator(`.tab.active[aria-label^="${base}"]`).waitFor({ state: 'visible' });
  return r;
}

let failure;
try {
  await main();
} catch (err) {
  failure = err;
}
try {
  report.notifications = browser ? await notifications((await browser.contexts()[0]?.pages())?.[0]) : [];
} catch {
  // The page may be gone; the report says what was seen before.
}
if (failure) {
  report.error = String(failure.stack || failure);
  try {
    const page = browser?.contexts()[0]?.pages()[0];
    if (page) await page.screenshot({ path: path.join(plan.artifacts, 'failure.png') });
  } catch {
    // best effort
  }
}
report.serverLog = typeof report.serverLog === 'function' ? report.serverLog() : '';
fs.writeFileSync(plan.out, JSON.stringify(report, null, 2));
await browser?.close().catch(() => {});
if (server) {
  try {
    process.kill(-server.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
fs.rmSync(tmp, { recursive: true, force: true });
process.exit(failure ? 1 : 0);
