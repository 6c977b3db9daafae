// Drives VS Code (code-server in Debian's Chromium) the way a user would, with the keyboard:
// open main.py, hover `add` (cache miss), Ctrl+. and Enter on "Instrument function", save, hover
// again (cache hit), F1 "Telemetry: Instrument whole file", save, the cache commands, hover
// (a miss once the cache is cleared), F1 "Telemetry: Remove all instrumentation", save; then F1
// "Telemetry: Instrument function at cursor with instructions…", its input box, save, remove.
// Writes what it saw to $SCENARIO_OUT as JSON; on a failure also a screenshot beside it.
// First the workspace's .venv lacks the server: the notification, its button to the setting.
//   env: CODE_SERVER_URL, WORKSPACE, SETTINGS (the user settings.json), INTERPRETER (a Python
//   with the server), SHOTS (folder for the README screenshots), SCENARIO_OUT
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const URL = process.env.CODE_SERVER_URL;
const WORKSPACE = process.env.WORKSPACE;
const SHOTS = process.env.SHOTS;
const SETTINGS = process.env.SETTINGS;
const OUT = process.env.SCENARIO_OUT;
const FILE = path.join(WORKSPACE, 'main.py');
const WAIT = 60000; // a busy 2-core CI machine: the workbench alone may take 20 s
const out = { steps: [], disk: {}, notifications: [] };
const started = Date.now();

function step(name) {
  out.steps.push({ name, at: (Date.now() - started) / 1000 });
}

/** Polls until `fn()` returns a truthy value (returned), or fails with `what`. */
async function until(what, fn, timeout = WAIT) {
  const end = Date.now() + timeout;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const disk = () => fs.readFileSync(FILE, 'utf8');
const count = (text, needle) => text.split(needle).length - 1;
// Hover text has non-breaking spaces.
const clean = (text) =>
  text
    .replace(/\u00a0/g, ' ')
    .replace(/[ \t]+\n/g, '\n')
    .trim();

async function statusText(page) {
  const item = page.locator('.statusbar-item', { hasText: 'Telemetry' });
  return (await item.count()) ? clean(await item.first().innerText()) : '';
}

/** Ctrl+G to the line of the file (on disk, saved) that starts with `prefix`, at `column`. */
async function goTo(page, prefix, column) {
  const line =
    disk()
      .split('\n')
      .findIndex((l) => l.trimStart().startsWith(prefix)) + 1;
  if (line === 0) throw new Error(`no line starts with ${prefix}`);
  await page.keyboard.press('Control+G');
  await page.keyboard.type(`${line}:${column}`);
  await page.keyboard.press('Enter');
  await until(
    `the cursor on line ${line}`,
    async () => (await page.locator('.statusbar-item', { hasText: `Ln ${line}, Col ${column}` }).count()) > 0,
  );
}

/** Ctrl+K Ctrl+I (a mouse hover sends no request here) and the hover's text. */
async function hover(page, shot) {
  const box = page.locator('.monaco-hover', { hasText: 'telemetry-inject' });
  await page.keyboard.press('Control+K');
  await page.keyboard.press('Control+I');
  await box.first().waitFor({ state: 'visible', timeout: WAIT });
  const text = clean(await box.first().innerText());
  if (shot) await page.screenshot({ path: path.join(SHOTS, shot) });
  await page.keyboard.press('Escape');
  await box.first().waitFor({ state: 'hidden', timeout: WAIT });
  return text;
}

/** F1, the command's title, Enter (the palette matches on the title). */
async function palette(page, title) {
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget').waitFor({ state: 'visible', timeout: WAIT });
  await page.keyboard.insertText(title);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title });
  await row.first().waitFor({ state: 'visible', timeout: WAIT });
  await page.keyboard.press('Enter');
}

/** The text of the notification toast that contains `needle` (toasts are left to fade). */
async function notification(page, needle) {
  const toast = page.locator('.notification-toast', { hasText: needle });
  await toast.first().waitFor({ state: 'visible', timeout: WAIT });
  const text = clean(await toast.first().locator('.notification-list-item-message').innerText());
  out.notifications.push(text);
  return text;
}

async function save(page, what, check) {
  await page.keyboard.press('Control+S');
  out.disk[what] = await until(`${what} saved`, () => {
    const text = disk();
    return check(text) ? text : null;
  });
}

async function scenario(page) {
  await page.goto(`${URL}/?folder=${encodeURIComponent(WORKSPACE)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: WAIT });
  step('workbench');
  // The explorer lists the file at once; Ctrl+P waits for the file search to warm up.
  await page
    .locator('.explorer-folders-view .monaco-list-row', { hasText: 'main.py' })
    .dblclick({ timeout: WAIT });
  await page.locator('.monaco-editor .view-lines', { hasText: 'def add' }).waitFor({ timeout: WAIT });
  await page.mouse.move(200, 500); // off the explorer's rows: no tooltip in the screenshots
  step('editor');
  // Nothing set, and the workspace's .venv has no telemetry-inject: the user is told what to do.
  out.not_installed = await notification(page, 'cannot run');
  step('notification');
  out.status_not_installed = await until('the error in the status bar', async () => {
    const text = await statusText(page);
    return text && !text.includes(':') ? text : null;
  });
  // Its "Open Settings" button shows the setting; the user types the Python that has the server.
  await page
    .locator('.notification-toast', { hasText: 'cannot run' })
    .getByRole('button', { name: 'Open Settings' })
    .click();
  const input = page
    .locator('.settings-editor .setting-item-text', { hasText: 'Interpreter' })
    .locator('input');
  await input.fill(process.env.INTERPRETER, { timeout: WAIT });
  await until('the setting saved', () => fs.readFileSync(SETTINGS, 'utf8').includes(process.env.INTERPRETER));
  await page.keyboard.press('Control+W'); // back to main.py
  step('interpreter setting');
  // The extension restarts the server with that Python; its status item then counts functions.
  out.status_before = await until('the server', async () => {
    const text = await statusText(page);
    return /Telemetry: \d/.test(text) ? text : null;
  });
  step('server');

  await goTo(page, 'def add', 5);
  out.hover_before = await hover(page);
  step('hover (miss)');

  await goTo(page, 'return a + b', 9);
  await page.keyboard.press('Control+.');
  const menu = page.locator('.action-widget');
  await menu.waitFor({ state: 'visible', timeout: WAIT });
  out.menu = clean(await menu.innerText()).split('\n');
  const focused = clean(await menu.locator('.monaco-list-row.focused').innerText());
  out.menu_focused = focused;
  await page.screenshot({ path: path.join(SHOTS, 'vscode-code-action.png') });
  if (!focused.startsWith('Instrument function')) throw new Error(`menu focus on ${focused}`);
  await page.keyboard.press('Enter'); // clicks land on the menu's pointer block
  await until(
    'the instrumented function in the editor',
    async () => (await page.locator('.monaco-editor .view-lines', { hasText: '@_tel.probe(' }).count()) > 0,
  );
  await save(page, 'after_action', (t) => count(t, '@_tel.probe(') === 1);
  step('code action, save');

  await goTo(page, 'def add', 5);
  out.hover_after = await hover(page, 'vscode-hover.png');
  step('hover (hit)');

  await goTo(page, 'raise ValueError', 9);
  await page.keyboard.press('Control+Shift+Alt+T'); // the extension's keybinding
  await until(
    'the keybinding to instrument fail()',
    async () =>
      (await page.locator('.monaco-editor .view-lines', { hasText: '@_tel.probe("fail"' }).count()) > 0,
  );
  await save(page, 'after_keybinding', (t) => count(t, '@_tel.probe(') === 2);
  step('keybinding, save');

  await palette(page, 'Telemetry: Instrument whole file');
  out.command_message = await notification(page, 'instrumented');
  step('whole-file command');
  await save(page, 'after_command', (t) => count(t, '@_tel.probe(') === 4);
  out.status_after = await until('the status item to count 4', async () => {
    const text = await statusText(page);
    return text.includes('4 instrumented') ? text : null;
  });
  step('whole-file command, save');

  await palette(page, 'Telemetry: Show cache stats');
  out.cache_stats = await notification(page, 'script cache');
  step('cache stats');
  await palette(page, 'Telemetry: Clear cache');
  out.cache_clear = await notification(page, 'cache entries');
  await goTo(page, 'def add', 5);
  out.hover_cleared = await hover(page);
  step('cache stats, clear, hover');

  await palette(page, 'Telemetry: Remove all instrumentation');
  out.remove_message = await notification(page, 'inserted lines');
  await save(page, 'after_remove', (t) => !t.includes('telemetry-inject'));
  out.status_removed = await until('the status item to count 0', async () => {
    const text = await statusText(page);
    return text.includes('0 instrumented') ? text : null;
  });
  step('remove command, save');

  // "Instrument with instructions…" (the model is in the user settings): the extension asks for
  // the text in an input box, the server has the model write the script, the edit lands.
  await goTo(page, 'return a + b', 9);
  await palette(page, 'Telemetry: Instrument function at cursor with instructions');
  const ask = page.locator('.quick-input-widget', { hasText: 'with instructions' });
  await ask.waitFor({ state: 'visible', timeout: WAIT });
  out.instructions_box = clean(await ask.innerText()).split('\n')[0];
  await page.keyboard.insertText('print every call');
  await page.screenshot({ path: path.join(SHOTS, 'vscode-instructions.png') });
  await page.keyboard.press('Enter');
  out.instructions_message = await notification(page, 'script by model');
  await save(page, 'after_instructions', (t) => t.includes('print("CALL"'));
  step('instructions, save');
  await palette(page, 'Telemetry: Remove all instrumentation');
  await until(
    "the model's lines removed",
    async () =>
      (await page.locator('.monaco-editor .view-lines', { hasText: 'telemetry-inject' }).count()) === 0,
  );
  await save(page, 'after_instructions_removed', (t) => !t.includes('telemetry-inject'));
  step('remove again, save');
}

(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  let code = 0;
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    try {
      await scenario(page);
    } catch (e) {
      out.error = String(e.stack || e);
      await page.screenshot({ path: `${OUT}.png` }).catch(() => {});
      code = 1;
    }
  } finally {
    out.seconds = (Date.now() - started) / 1000;
    fs.writeFileSync(OUT, JSON.stringify(out, null, 2));
    await browser.close();
  }
  process.exit(code);
})();
