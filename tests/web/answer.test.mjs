// End-to-end test of the web page against a running medvqa server:
//   npm ci --prefix tests/web
//   MEDVQA_URL=http://127.0.0.1:18080 MEDVQA_IMAGE=path/to/image.jpg node tests/web/answer.test.mjs
// Optional: MEDVQA_SCREENSHOT=out.png, CHROMIUM=/usr/bin/chromium.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const baseUrl = process.env.MEDVQA_URL;
const imagePath = process.env.MEDVQA_IMAGE;
const screenshot = process.env.MEDVQA_SCREENSHOT;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const ANSWER_TIMEOUT_MS = 60_000;
const ERROR_TIMEOUT_MS = 30_000;

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

if (!baseUrl) fail('MEDVQA_URL is not set (e.g. http://127.0.0.1:18080)');
if (!imagePath || !existsSync(imagePath)) fail(`MEDVQA_IMAGE must name an existing JPEG (got ${imagePath})`);
if (!existsSync(executablePath)) fail(`chromium not found at ${executablePath} (set CHROMIUM)`);

// The 4xx answers below are expected, and Chromium reports every failed
// response as a console error; anything else on the console is a bug.
const EXPECTED_CONSOLE = /Failed to load resource: the server responded with a status of 4\d\d/;

async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
  } catch (err) {
    err.message = `${name}: ${err.message}`;
    throw err;
  }
  console.log(`ok - ${name} (${Date.now() - started} ms)`);
}

const tmp = mkdtempSync(join(tmpdir(), 'medvqa-web-'));
const junkPath = join(tmp, 'junk.png');
writeFileSync(junkPath, Buffer.from('this is not an image at all, just junk bytes \x00\x01\x02\x03'.repeat(8), 'binary'));

const problems = [];
let browser;
try {
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--disable-gpu',
           '--no-first-run', '--no-default-browser-check'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (err) => problems.push(`uncaught page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !EXPECTED_CONSOLE.test(msg.text())) problems.push(`console error: ${msg.text()}`);
  });
  const assertNoProblems = () => assert.deepEqual(problems, [], 'page reported errors');

  await step('page loads', async () => {
    const res = await page.goto(new URL('/', baseUrl).href, { waitUntil: 'load' });
    assert.ok(res && res.ok(), `GET / answered ${res && res.status()}`);
    for (const id of ['image-input', 'question', 'ask', 'answer', 'confidence', 'probabilities', 'timing', 'notice', 'error',
                      'history', 'window-preset', 'window-center', 'window-width', 'preview']) {
      assert.equal(await page.locator(`#${id}`).count(), 1, `#${id} missing`);
    }
    assertNoProblems();
  });

  await step('answers a question about a JPEG', async () => {
    await page.setInputFiles('#image-input', imagePath);
    await page.fill('#question', 'Is there a fracture?');
    await page.press('#question', 'Enter');
    await page.waitForFunction(() => document.querySelector('#answer').textContent.trim() !== '' ||
                                     !document.querySelector('#error').hidden,
                               null, { timeout: ANSWER_TIMEOUT_MS });
    const error = await page.locator('#error').textContent();
    assert.ok(await page.locator('#error').isHidden(), `server answered with an error: ${error}`);
    const answer = (await page.locator('#answer').textContent()).trim();
    assert.notEqual(answer, '', '#answer is empty');
    assert.match(await page.locator('#notice').textContent(), /clinical/i, '#notice lacks the research-use notice');
    assert.match(await page.locator('#timing').textContent(), /\d/, '#timing shows no time');
    assert.match(await page.locator('#confidence').textContent(), /Confidence \d+%/, '#confidence shows no probability');
    assert.equal(await page.locator('#history li').count(), 1, 'history should have exactly one item');
    assert.ok(await page.locator('#preview').isVisible(), 'JPEG preview not shown');
    const probs = await page.locator('#probabilities .prob').count();
    console.log(`  answer: ${JSON.stringify(answer)}, ${probs} closed-answer probabilities`);
    assertNoProblems();
  });

  await step('the heat map lies over the image, with its opacity and toggle', async () => {
    const heatmap = page.locator('#heatmap');
    assert.ok(await heatmap.isVisible(), 'no heat map over the preview after an answer');
    assert.equal(await heatmap.getAttribute('data-method'), 'attention');
    const grid = await heatmap.evaluate((c) => c.width);
    assert.ok(grid >= 2 && grid === (await heatmap.evaluate((c) => c.height)), `heat map grid ${grid}`);
    // Drawn: some patch carries colour (the map's maximum is 1).
    const painted = await heatmap.evaluate((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let most = 0;
      for (let i = 3; i < d.length; i += 4) most = Math.max(most, d[i]);
      return most;
    });
    assert.equal(painted, 255, 'the heat map canvas is blank');
    // It covers the center square of the preview.
    const [img, map] = await Promise.all([page.locator('#preview').boundingBox(), heatmap.boundingBox()]);
    const side = Math.min(img.width, img.height);
    assert.ok(Math.abs(map.width - side) < 2 && Math.abs(map.height - side) < 2, `heat map ${map.width}x${map.height}, image ${img.width}x${img.height}`);
    assert.ok(Math.abs(map.x - (img.x + (img.width - side) / 2)) < 2 && Math.abs(map.y - (img.y + (img.height - side) / 2)) < 2,
              'heat map not centred on the image');
    await page.locator('#heatmap-opacity').fill('25');
    assert.equal(await heatmap.evaluate((c) => c.style.opacity), '0.25', 'opacity slider has no effect');
    await page.uncheck('#heatmap-show');
    assert.ok(await heatmap.isHidden(), 'unchecking "show" leaves the heat map visible');
    await page.check('#heatmap-show');
    assert.ok(await heatmap.isVisible(), 'checking "show" again does not bring the heat map back');
    assert.match(await page.locator('#heatmap-status').textContent(), /patches/);
    console.log(`  heat map: ${grid} x ${grid}`);
    assertNoProblems();
  });

  await step('empty question is refused on the page', async () => {
    await page.fill('#question', '   ');
    await page.click('#ask');
    await page.locator('#error').waitFor({ state: 'visible', timeout: ERROR_TIMEOUT_MS });
    assert.notEqual((await page.locator('#error').textContent()).trim(), '', '#error has no message');
    assert.equal(await page.locator('#history li').count(), 1, 'a refused question must not enter the history');
    assertNoProblems();
  });

  await step('a non-image file gets the server\'s error', async () => {
    await page.setInputFiles('#image-input', junkPath);
    await page.fill('#question', 'Is there a fracture?');
    await page.click('#ask');
    // The page may already show the server's preview error; either way the message must name the image.
    await page.waitForFunction(() => {
      const el = document.querySelector('#error');
      return !el.hidden && /image/i.test(el.textContent);
    }, null, { timeout: ERROR_TIMEOUT_MS });
    await page.waitForFunction(() => !document.querySelector('#ask').disabled, null, { timeout: ANSWER_TIMEOUT_MS });
    const message = (await page.locator('#error').textContent()).trim();
    assert.ok(await page.locator('#error').isVisible(), '#error not visible');
    assert.match(message, /image/i, `unexpected error message: ${message}`);
    assert.equal(await page.locator('#history li').count(), 1, 'a failed question must not enter the history');
    console.log(`  error: ${JSON.stringify(message)}`);
    assertNoProblems();
  });

  if (screenshot) {
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`screenshot: ${screenshot}`);
  }
  console.log('PASS');
} catch (err) {
  console.error(`FAIL: ${err.message}`);
  if (problems.length) console.error(problems.join('\n'));
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  rmSync(tmp, { recursive: true, force: true });
}
