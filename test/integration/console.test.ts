// The operator console in a real browser (Debian's chromium, headless, driven by playwright-core)
// against three real coordinator processes serving the built console at /console, the real broker
// and participants on the real SDK. With VERDICT_CONSOLE_SCREENSHOTS=<folder> it also writes the
// README's screenshots (scripts/console-screenshots.mts sets it).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CoordinatorCluster,
  eventually,
  OPERATOR_KEY,
  SERVICE_KEY,
  sleep,
  type CoordinatorNode,
} from '../support/coordinator-cluster';
import {
  startScriptedParticipant,
  type ScriptedParticipant,
  type ScriptedWork,
} from '../support/scripted-participant';
import { createDatabase, kafkaBrokers, uniqueName, type TestDatabase } from '../support/stack';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/**
 * The nodes call a transaction stuck after this long in one phase (VERDICT_STUCK_AFTER_MS), instead
 * of the minute they default to, so the test does not sit out a minute.
 */
const STUCK_AFTER_MS = 3_000;
const screenshots = process.env['VERDICT_CONSOLE_SCREENSHOTS'];

interface TxView {
  readonly id: string;
  readonly state: string;
  readonly decision: {
    readonly outcome: string;
    readonly resolvedBy: string | null;
    readonly reason: string;
  } | null;
}

let database: TestDatabase;
let cluster: CoordinatorCluster;
let bankA: ScriptedParticipant;
let bankB: ScriptedParticipant;
let userDataDirectory: string;
let browser: BrowserContext;
/** Serves the console: a follower, so that killing the leader leaves the page up. */
let consoleNode: CoordinatorNode;
let stuckTxId: string;
let stuckSinceMs: number;

beforeAll(async () => {
  database = await createDatabase('console');
  cluster = await CoordinatorCluster.start({
    kafkaBrokers: kafkaBrokers(),
    databaseUrl: database.url,
    environment: { VERDICT_STUCK_AFTER_MS: String(STUCK_AFTER_MS) },
  });
  [bankA, bankB] = await Promise.all([
    startScriptedParticipant(uniqueName('bank-a'), kafkaBrokers()),
    startScriptedParticipant(uniqueName('bank-b'), kafkaBrokers()),
  ]);
  userDataDirectory = mkdtempSync(join(tmpdir(), 'verdict-chromium-'));
  browser = await chromium.launchPersistentContext(userDataDirectory, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 860 },
  });
  // Generous: on a loaded 2-core machine three nodes take a while to start.
  const leader = await cluster.waitForLeader(180_000);
  consoleNode = followerOf(leader);

  // Some history for the list: two commits and an abort on a NO vote.
  for (const work of [{}, {}, { [bankB.name]: { vote: 'NO' } }] as Record<string, ScriptedWork>[]) {
    const txId = await begin(leader, [bankA, bankB], work, 5_000);
    const decided = await cluster.request(leader, 'POST', `/v1/transactions/${txId}/commit?wait=completion`);
    expect(decided.status).toBe(200);
  }

  // The stuck one: bank-a prepares (votes YES); bank-c was stopped, so PREPARE is never answered.
  // A long deadline keeps the coordinator from aborting it on its own before the operator acts.
  const bankC = await startScriptedParticipant(uniqueName('bank-c'), kafkaBrokers());
  stuckTxId = await begin(leader, [bankA, bankC], {}, 600_000);
  await bankC.handle.stop();
  // Answers only once a decision exists, i.e. after the operator resolves it; nobody waits for it.
  void cluster.request(leader, 'POST', `/v1/transactions/${stuckTxId}/commit`).catch(() => undefined);
  await eventually(
    () => Promise.resolve(bankA.service.branches.get(stuckTxId)?.vote === 'YES' ? true : undefined),
    20_000,
    'bank-a voting YES on the transaction that will be stuck',
  );
  stuckSinceMs = Date.now();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (userDataDirectory !== undefined) rmSync(userDataDirectory, { recursive: true, force: true });
  await Promise.all([bankA?.handle.stop(), bankB?.handle.stop()]);
  await cluster?.stop();
  await database?.drop();
});

function followerOf(leader: CoordinatorNode): CoordinatorNode {
  const follower = cluster.nodes.find((node) => node !== leader && node.process !== null);
  if (follower === undefined) throw new Error('no running follower');
  return follower;
}

async function begin(
  node: CoordinatorNode,
  participants: readonly ScriptedParticipant[],
  work: Readonly<Record<string, ScriptedWork>>,
  timeoutMs: number,
): Promise<string> {
  const result = await cluster.requestRetrying<TxView>(node, 'POST', '/v1/transactions', {
    timeoutMs,
    participants: participants.map((participant) => ({
      name: participant.name,
      payload: work[participant.name] ?? {},
    })),
  });
  expect(result.status, JSON.stringify(result.body)).toBe(201);
  return result.body.id;
}

/** A fresh tab signed in with `key` (session storage is per tab, so each test starts signed out). */
async function signIn(key: string, node: CoordinatorNode = consoleNode): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${node.url}/console`);
  await page.fill('input[name="apiKey"]', key);
  await page.click('button[type="submit"]');
  await page.waitForSelector('[data-testid="who"]');
  return page;
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (screenshots === undefined) return;
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, name), fullPage: true });
}

describe('the operator console', () => {
  it('is served by every node without a key, and loads nothing from another origin', async () => {
    for (const node of cluster.nodes) {
      const response = await fetch(`${node.url}/console/`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('<div id="app">');
    }
    const page = await browser.newPage();
    const origins = new Set<string>();
    page.on('request', (request) => origins.add(new URL(request.url()).origin));
    await page.goto(`${consoleNode.url}/console/`);
    await page.waitForSelector('input[name="apiKey"]');
    expect([...origins]).toEqual([consoleNode.url]);
    await page.fill('input[name="apiKey"]', 'not-a-key-this-cluster-knows');
    await page.click('button[type="submit"]');
    await expect.poll(() => page.textContent('[role="alert"]')).toMatch(/not one this cluster accepts/);
    await page.close();
  });

  it('a service key reads everything and is offered no action', async () => {
    const page = await signIn(SERVICE_KEY);
    expect(await page.textContent('[data-testid="who"]')).toMatch(/^service:[0-9a-f]{12}read-only$/);
    await page.waitForSelector(`tr[data-txid="${stuckTxId}"]`);
    await page.click(`tr[data-txid="${stuckTxId}"] a`);
    await page.waitForSelector('[data-testid="timeline"]');
    expect(await page.textContent('[data-testid="tx-decision"]')).toBe('none yet');
    expect(await page.$('[data-testid="actions"]')).toBeNull();
    expect(await page.$$('main button')).toEqual([]);
    await page.goto(`${consoleNode.url}/console/#/cluster`);
    await page.waitForSelector('[data-testid="members"]');
    expect(await page.$$('main button')).toEqual([]);
    await page.close();
  });

  it('a stuck transaction comes first with its reason; the operator resolves it and the timeline says who', async () => {
    const page = await signIn(OPERATOR_KEY);
    const actor = (await page.textContent('[data-testid="who"]')) ?? '';
    expect(actor).toMatch(/^operator:[0-9a-f]{12}$/);
    const row = `tr[data-txid="${stuckTxId}"]`;
    await page.waitForSelector(row);
    // Until STUCK_AFTER_MS has passed in PREPARING it is merely in progress.
    await page.waitForSelector(`${row}.stuck`, { timeout: STUCK_AFTER_MS + 30_000 });
    const firstRow = await page.getAttribute(
      '[data-testid="transactions"] tbody tr:first-child',
      'data-txid',
    );
    expect(firstRow).toBe(stuckTxId);
    const reason = (await page.textContent(`${row} [data-testid="stuck-reason"]`)) ?? '';
    const bankC = /waiting for vote from (bank-c-[^ ]+) for (\d+m \d+s|\d+s), \d+ attempts?/.exec(reason);
    expect(bankC, reason).not.toBeNull();
    expect(reason).toContain(`prepared at ${bankA.name}`);
    // The reason's own duration is past the threshold the nodes were given, and no longer than
    // the time since PREPARE went out (a little before bank-a's vote was seen).
    const stated = /^(?:(\d+)m )?(\d+)s$/.exec(bankC?.[2] ?? '');
    expect(stated, reason).not.toBeNull();
    const statedMs = (Number(stated?.[1] ?? 0) * 60 + Number(stated?.[2])) * 1000;
    expect(statedMs).toBeGreaterThanOrEqual(STUCK_AFTER_MS);
    expect(statedMs).toBeLessThanOrEqual(Date.now() - stuckSinceMs + 20_000);
    await screenshot(page, 'console-transactions.png');

    await page.click(`${row} a`);
    await page.waitForSelector('[data-testid="stuck-banner"]');
    // bank-c never voted: COMMIT is not offered, ABORT is.
    expect(await page.textContent('[data-testid="commit-withheld"]')).toContain(
      `no YES known from ${bankC?.[1]}`,
    );
    expect(await page.$('button:has-text("Resolve as COMMIT")')).toBeNull();
    await page.click('button:has-text("Resolve as ABORT")');
    const submit = page.locator('[data-testid="action-form"] button[type="submit"]');
    expect(await submit.isDisabled()).toBe(true); // no reason, no resolution
    const why = 'bank-c is being restored from backup; its side never prepared';
    await page.fill('[data-testid="action-form"] textarea[name="reason"]', why);
    await submit.click();

    // A failed call shows in the form; reading it too makes a failure say why.
    const decisionOrError = async (): Promise<string | null> =>
      (await page.$('[data-testid="action-form"] [role="alert"]')) === null
        ? page.textContent('[data-testid="tx-decision"]')
        : page.textContent('[data-testid="action-form"] [role="alert"]');
    await expect
      .poll(decisionOrError, { timeout: 45_000 })
      .toMatch(new RegExp(`^ABORT at Raft index \\d+, term \\d+: .*\\(resolved by ${actor}\\)$`));
    const decisionRow = page.locator('[data-testid="timeline"] tr.event-decision');
    await expect.poll(() => decisionRow.count()).toBe(1);
    expect(await decisionRow.textContent()).toContain(actor);
    expect(await page.$('button:has-text("Resolve as ABORT")')).toBeNull();

    // bank-c never acknowledges the ABORT: retrying phase two is offered, and asks for a reason too.
    await page.click('button:has-text("Retry phase two now")');
    const retrySubmit = page.locator('[data-testid="action-form"] button[type="submit"]');
    expect(await retrySubmit.isDisabled()).toBe(true);
    const retryWhy = 'bank-c restore finished; re-sending the ABORT';
    await page.fill('[data-testid="action-form"] textarea[name="reason"]', retryWhy);
    await retrySubmit.click();
    const retryRow = page.locator('[data-testid="timeline"] tr.event-retry');
    await expect.poll(() => retryRow.count(), { timeout: 45_000 }).toBeGreaterThanOrEqual(1);
    expect(await retryRow.last().textContent()).toContain(`reason: ${retryWhy}`);
    expect(await retryRow.last().textContent()).toContain(actor);

    const stored = await cluster.request<TxView>(consoleNode, 'GET', `/v1/transactions/${stuckTxId}`);
    expect(stored.body.decision).toMatchObject({ outcome: 'ABORT', resolvedBy: actor });
    expect(stored.body.decision?.reason).toContain(why);
    await eventually(
      () => Promise.resolve(bankA.service.branches.get(stuckTxId)?.outcome === 'ABORT' ? true : undefined),
      20_000,
      'bank-a rolling back its prepared branch',
    );
    await screenshot(page, 'console-transaction.png');
    await page.close();
  }, 150_000);

  it('the cluster page shows the new leader after the leader is killed', async () => {
    const page = await signIn(OPERATOR_KEY);
    await page.goto(`${consoleNode.url}/console/#/cluster`);
    const leader = await cluster.waitForLeader();
    await expect.poll(() => page.textContent('[data-testid="leader"]')).toBe(`Leader: ${leader.nodeId}`);
    expect(await page.textContent(`tr[data-node="${leader.nodeId}"] [data-testid="member-role"]`)).toBe(
      'LEADER',
    );
    // The page is served by a follower: it read bank-a's replies off the topic itself.
    await expect
      .poll(() => page.textContent(`tr[data-participant="${bankA.name}"] [data-testid="last-seen"]`))
      .toMatch(/ ago$/);
    if (screenshots !== undefined) {
      // The leader's own console shows lag and last contact; some traffic fills the charts.
      const onLeader = await signIn(OPERATOR_KEY, leader);
      await onLeader.goto(`${leader.url}/console/#/cluster`);
      for (let round = 0; round < 40; round += 1) {
        const txId = await begin(leader, [bankA, bankB], {}, 5_000);
        await cluster.request(leader, 'POST', `/v1/transactions/${txId}/commit`);
        await sleep(500);
      }
      await screenshot(onLeader, 'console-cluster.png');
      await onLeader.close();
    }

    await cluster.kill(leader);
    const successor = await cluster.waitForLeader(30_000);
    expect(successor.nodeId).not.toBe(leader.nodeId);
    await expect
      .poll(() => page.textContent('[data-testid="leader"]'), { timeout: 20_000 })
      .toBe(`Leader: ${successor.nodeId}`);
    expect(await page.textContent(`tr[data-node="${successor.nodeId}"] [data-testid="member-role"]`)).toBe(
      'LEADER',
    );
    expect(await page.textContent(`tr[data-node="${leader.nodeId}"] [data-testid="member-role"]`)).not.toBe(
      'LEADER',
    );
    await page.close();
  }, 120_000);
});
