// ocean.js paid compute check for the c2d provider.
//
// Drives a running provider that serves a dev chain with the public API of
// @oceanprotocol/lib 8.0.0, as a marketplace would for a paid job: find the paid environment,
// initializeCompute, order the datatokens with the provider fees it returned, deposit into
// and authorise the Escrow, computeStart, poll computeStatus (through 71 settling to 70),
// download the result, and read the escrow afterwards.
//
// Environment (all required):
//   PROVIDER_URL, RPC, ADDRESS_FILE (C2D_HOME/chain/addresses.json), CONSUMER_KEY (funded with
//   gas, OCEAN and one datatoken of each asset), ALGO_DID, ALGO_SERVICE_ID, ALGO_DATATOKEN,
//   DATASET_DID, DATASET_SERVICE_ID, DATASET_DATATOKEN
//   MINE_BLOCKS (optional) blocks anvil mines after the orders, for a chain served with
//               confirmations (an order counts once that deep)
//   DATASET_SERVICE_INDEX (optional, default 0) the dataset service's index in its DDO, which
//               the order names
//   KEEP_RESULT (optional) 1: the summary carries the result archive itself (resultBase64)
//   C2D_JS_DIR  directory whose node_modules holds @oceanprotocol/lib and ethers (default
//               <repo>/js)
// Output: one JSON object on stdout; progress on stderr. Exit 0 only if every step worked.

import fs from 'node:fs';

import { mined, need, pickJob, requireFromJs, run, sleep } from './harness.mjs';

const { ProviderInstance, ConfigHelper, Datatoken, EscrowContract, approve, unitsToAmount } =
  requireFromJs('@oceanprotocol/lib');
const { ethers } = requireFromJs('ethers');

const FINISHED = 70;
const SETTLING = 71;
const RESOURCES = [{ id: 'cpu', amount: 1 }, { id: 'ram', amount: 1 }, { id: 'disk', amount: 1 }];
const MAX_JOB_DURATION = 120;
const progress = (...args) => console.error('[oceanjs_paid]', ...args);

// Order one input the way initializeCompute says: reuse a still-valid order, renew its fee
// with reuseOrder, or start a new order with the provider fee.
async function order(datatoken, dtAddress, entry, serviceIndex = 0) {
  if (entry.validOrder && !entry.providerFee) return entry.validOrder;
  const tx = await (entry.validOrder
    ? datatoken.reuseOrder(dtAddress, entry.validOrder, entry.providerFee)
    : datatoken.startOrder(dtAddress, entry.consumerAddress, serviceIndex, entry.providerFee));
  if (!tx) throw new Error(`ordering ${dtAddress} failed (see the log above)`);
  const receipt = await mined(tx);
  return receipt.hash;
}

async function main() {
  const providerUrl = need('PROVIDER_URL');
  // anvil mines at once: poll receipts quickly instead of ethers' default 4 s.
  const rpc = new ethers.JsonRpcProvider(need('RPC'), undefined, { pollingInterval: 100 });
  // ethers caches the pending nonce for a moment; a NonceManager keeps quick successive
  // transactions (approve, deposit, authorize, orders) from reusing one.
  const wallet = new ethers.NonceManager(new ethers.Wallet(need('CONSUMER_KEY'), rpc));
  wallet.address = await wallet.getAddress();
  const addresses = JSON.parse(fs.readFileSync(need('ADDRESS_FILE'), 'utf8'));
  const config = new ConfigHelper().getAddressesFromEnv('development', addresses);
  const chainId = Number(config.chainId);
  const summary = { consumer: wallet.address, chainId };

  // 1. The paid environment for this chain.
  const envs = await ProviderInstance.getComputeEnvironments(providerUrl);
  const env = envs.find((e) => !e.free && e.fees && e.fees[String(chainId)]);
  if (!env) throw new Error(`no paid environment for chain ${chainId}`);
  const feeToken = env.fees[String(chainId)][0].feeToken;
  summary.environment = env.id;

  // 2. initializeCompute: provider fees per input, the price, where to pay it.
  const algorithm = { documentId: need('ALGO_DID'), serviceId: need('ALGO_SERVICE_ID') };
  const datasets = [{ documentId: need('DATASET_DID'), serviceId: need('DATASET_SERVICE_ID') }];
  const init = await ProviderInstance.initializeCompute(
    datasets, algorithm, env.id, feeToken, MAX_JOB_DURATION, providerUrl, wallet.address,
    RESOURCES, chainId);
  if (!init || !init.payment) throw new Error(`initializeCompute: ${JSON.stringify(init)}`);
  summary.payment = init.payment;
  progress('initialized; price', init.payment.amount);

  // 3. Escrow: approve, deposit and authorise the provider for the price. payment.amount is in
  // wei, as Ocean Node answers it; ocean.js's own conversion turns it into token units.
  const amount = await unitsToAmount(wallet, feeToken, init.payment.amount);
  summary.amountInUnits = amount;
  const approval = await approve(
    wallet, config, wallet.address, feeToken, init.payment.escrowAddress, amount);
  if (approval && approval.wait) await mined(approval);
  const escrow = new EscrowContract(init.payment.escrowAddress, wallet, chainId, config);
  await mined(await escrow.deposit(feeToken, amount));
  const auth = await escrow.authorize(
    feeToken, init.payment.payee, amount, String(init.payment.minLockSeconds), '10');
  if (auth) await mined(auth);

  // 4. Orders, with the provider fees initializeCompute signed.
  const datatoken = new Datatoken(wallet, chainId, config);
  algorithm.transferTxId = await order(datatoken, need('ALGO_DATATOKEN'), init.algorithm);
  datasets[0].transferTxId = await order(datatoken, need('DATASET_DATATOKEN'), init.datasets[0],
    Number(process.env.DATASET_SERVICE_INDEX || '0'));
  progress('ordered', algorithm.transferTxId, datasets[0].transferTxId);
  // A chain served with `confirmations: N` takes an order once it is N blocks deep; anvil
  // makes no block on its own, so the blocks a live chain would add meanwhile are mined here.
  const deepen = Number(process.env.MINE_BLOCKS || '0');
  if (deepen > 0) await rpc.send('anvil_mine', [ethers.toQuantity(deepen)]);

  // 5. computeStart (signed), then status until settled.
  const started = pickJob(await ProviderInstance.computeStart(
    providerUrl, wallet, env.id, datasets, algorithm, MAX_JOB_DURATION, feeToken, RESOURCES,
    chainId));
  summary.jobId = started.jobId;
  const [, locked] = await escrow.getUserFunds(wallet.address, feeToken);
  summary.lockedWhileRunning = locked.toString();
  const seen = new Set();
  let job;
  const deadline = Date.now() + 180000;
  while (Date.now() < deadline) {
    job = pickJob(await ProviderInstance.computeStatus(providerUrl, wallet, started.jobId),
      started.jobId);
    seen.add(job.status);
    if (job.status === FINISHED) break;
    if (job.status !== SETTLING && job.status >= 31 && job.status !== 40 && job.status !== 60) {
      throw new Error(`job failed: ${job.status} ${job.statusText}`);
    }
    await sleep(200);
  }
  if (!job || job.status !== FINISHED) throw new Error(`job not finished: ${JSON.stringify(job)}`);
  summary.statusesSeen = [...seen];

  // 6. The result archive through the URL ocean.js builds.
  const output = job.results.find((r) => r.type === 'output');
  const url = await ProviderInstance.getComputeResultUrl(providerUrl, wallet, job.jobId,
    output.index);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`result download failed: HTTP ${res.status}`);
  const archive = Buffer.from(await res.arrayBuffer());
  summary.resultBytes = archive.byteLength;
  if (process.env.KEEP_RESULT === '1') summary.resultBase64 = archive.toString('base64');

  // 7. The escrow after settlement: nothing left locked.
  const [available, lockedAfter] = await escrow.getUserFunds(wallet.address, feeToken);
  summary.escrowAvailable = available.toString();
  summary.escrowLocked = lockedAfter.toString();
  return { ok: true, ...summary };
}

run('oceanjs_paid', main);
