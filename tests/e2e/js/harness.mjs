// What both ocean.js check scripts share: stdout kept for their one JSON summary, packages
// resolved from the project's js/ directory, job picking, and the exit protocol.

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// ocean.js logs through console; only the summary goes to stdout.
const writeStdout = process.stdout.write.bind(process.stdout);
for (const level of ['log', 'info', 'debug', 'warn']) {
  console[level] = (...args) => console.error(...args);
}

const here = path.dirname(fileURLToPath(import.meta.url));
const jsDir = process.env.C2D_JS_DIR || path.resolve(here, '..', '..', '..', 'js');

// Resolve packages from the project's js/ directory (C2D_JS_DIR), not from this script's.
export const requireFromJs = createRequire(path.join(jsDir, 'package.json'));

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is required`);
  return value;
}

// The receipt of ``tx`` once mined, polled here rather than by ``tx.wait()``: that one waits
// with no end, and once (CI, an order after "Payee already authorized") it never returned. On
// anvil a transaction is mined as it arrives; one that is not mined within ``seconds`` fails
// with what says why: its nonce against the account's mined and pending counts (a nonce ahead
// of them waits for a transaction that never came).
export async function mined(tx, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const receipt = await tx.provider.getTransactionReceipt(tx.hash);
    if (receipt) {
      if (receipt.status === 0) throw new Error(`transaction ${tx.hash} reverted`);
      return receipt;
    }
    if (Date.now() > deadline) {
      const [latest, pending] = await Promise.all([
        tx.provider.getTransactionCount(tx.from, 'latest'),
        tx.provider.getTransactionCount(tx.from, 'pending'),
      ]);
      throw new Error(
        `transaction ${tx.hash} (nonce ${tx.nonce} of ${tx.from}) not mined in ${seconds} s;` +
          ` the account has ${latest} mined and ${pending} pending`,
      );
    }
    await sleep(100);
  }
}

// The job with ``jobId`` (else the first) from a provider answer: an array or one object.
export function pickJob(response, jobId) {
  const jobs = Array.isArray(response) ? response : [response];
  const job = jobId ? jobs.find((j) => j && j.jobId === jobId) : jobs[0];
  if (!job || !job.jobId) throw new Error(`no job in provider response: ${JSON.stringify(response)}`);
  return job;
}

// Runs ``main`` and exits: 0 with its summary as one JSON line, or 1 with {ok: false, error}.
export function run(name, main) {
  main().then(
    (summary) => {
      writeStdout(JSON.stringify(summary) + '\n');
      process.exit(0);
    },
    (err) => {
      console.error(`[${name}] FAILED:`, err && err.stack ? err.stack : err);
      const message = String(err && err.message ? err.message : err);
      writeStdout(JSON.stringify({ ok: false, error: message }) + '\n');
      process.exit(1);
    },
  );
}
