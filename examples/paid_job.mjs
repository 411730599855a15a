// A consumer with ocean.js (@oceanprotocol/lib): a paid compute job on published assets (DIDs).
//
//   PROVIDER_URL=http://127.0.0.1:8000 RPC=http://127.0.0.1:8545 CONSUMER_KEY=0x... \
//     ADDRESS_FILE=.c2d/chain/addresses.json ALGO_DID=did:op:... DATASET_DID=did:op:... \
//     node examples/paid_job.mjs
//
// The consumer needs gas, the fee token (OCEAN on the dev chain) and one datatoken of each
// asset. initializeCompute (the price and a provider fee per asset), approve + deposit +
// authorize on the escrow, startOrder per asset, computeStart (signed), poll until the job ends,
// download the output archive into ./results-JOBID.tar, print the algorithm's log and the
// escrow after the provider claimed its cost. Packages come from the project's js/ folder.
// Exit code 0 only if the job finished (70).

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'js', 'package.json'));
const { ProviderInstance, ConfigHelper, Datatoken, EscrowContract, approve, unitsToAmount } =
  require('@oceanprotocol/lib');
const { ethers } = require('ethers');

const ENDED = new Set([2, 31, 32, 41, 42, 61, 62, 70]); // a job does not change after these
const RESOURCES = [{ id: 'cpu', amount: 1 }, { id: 'ram', amount: 1 }];
const MAX_JOB_DURATION = 120;
const log = (...args) => console.error(...args); // ocean.js logs to stdout as well

const provider = process.env.PROVIDER_URL;
// anvil mines at once: poll receipts quickly; the NonceManager keeps quick successive
// transactions from reusing a nonce.
const rpc = new ethers.JsonRpcProvider(process.env.RPC, undefined, { pollingInterval: 100 });
const wallet = new ethers.NonceManager(new ethers.Wallet(process.env.CONSUMER_KEY, rpc));
const address = await wallet.getAddress();
const addresses = JSON.parse(readFileSync(process.env.ADDRESS_FILE, 'utf8'));
const config = new ConfigHelper().getAddressesFromEnv('development', addresses);
const chainId = Number(config.chainId);

// The first environment priced on this chain, and its first fee token there.
const environments = await ProviderInstance.getComputeEnvironments(provider);
const environment = environments.find((env) => env.fees && env.fees[String(chainId)]);
const feeToken = environment.fees[String(chainId)][0].feeToken;

const algorithm = { documentId: process.env.ALGO_DID };
const datasets = [{ documentId: process.env.DATASET_DID }];
const init = await ProviderInstance.initializeCompute(
  datasets, algorithm, environment.id, feeToken, MAX_JOB_DURATION, provider, address,
  RESOURCES, chainId);
const { payment } = init;
// payment.amount is in wei; the escrow calls of ocean.js take token units.
const amount = await unitsToAmount(wallet, feeToken, payment.amount);
log(`price: ${amount} tokens on chain ${chainId}`);

const shown = async (what, tx) => {
  if (!tx || !tx.wait) return null; // ocean.js sends no approve where the allowance suffices
  const receipt = await tx.wait();
  log(`${what}: tx ${receipt.hash} gas ${receipt.gasUsed}`);
  return receipt.hash;
};
await shown('approve escrow', await approve(
  wallet, config, address, feeToken, payment.escrowAddress, amount));
const escrow = new EscrowContract(payment.escrowAddress, wallet, chainId, config);
await shown('escrow deposit', await escrow.deposit(feeToken, amount));
await shown('escrow authorize', await escrow.authorize(
  feeToken, payment.payee, amount, String(payment.minLockSeconds), '10'));

// Order each asset with the provider fee initializeCompute signed (or keep a valid order).
const datatoken = new Datatoken(wallet, chainId, config);
const order = async (what, entry) => {
  if (entry.validOrder && !entry.providerFee) return entry.validOrder;
  return shown(what, await (entry.validOrder
    ? datatoken.reuseOrder(entry.datatoken, entry.validOrder, entry.providerFee)
    : datatoken.startOrder(
      entry.datatoken, entry.consumerAddress, entry.serviceIndex ?? 0, entry.providerFee)));
};
algorithm.transferTxId = await order('startOrder algorithm', init.algorithm);
datasets[0].transferTxId = await order('startOrder datasets[0]', init.datasets[0]);

const started = await ProviderInstance.computeStart(
  provider, wallet, environment.id, datasets, algorithm, MAX_JOB_DURATION, feeToken, RESOURCES,
  chainId);
let job = Array.isArray(started) ? started[0] : started;
console.log(`job ${job.jobId} started on ${environment.id}`);
while (!ENDED.has(job.status)) { // 71 (settling) comes before 70
  await new Promise((resolve) => setTimeout(resolve, 500));
  const answer = await ProviderInstance.computeStatus(provider, wallet, job.jobId);
  job = Array.isArray(answer) ? answer[0] : answer;
}
console.log(`job ended: ${job.status} ${job.statusText} ${job.statusReason || ''}`.trimEnd());
for (const result of job.results) {
  if (result.type !== 'output' && result.type !== 'algorithmLog') continue;
  const url = await ProviderInstance.getComputeResultUrl(provider, wallet, job.jobId, result.index);
  const body = Buffer.from(await (await fetch(url)).arrayBuffer());
  if (result.type === 'algorithmLog') {
    process.stdout.write(body.toString('utf8'));
  } else {
    writeFileSync(`results-${job.jobId}.tar`, body);
    console.log(`downloaded results-${job.jobId}.tar (${body.length} bytes)`);
  }
}
const [available, locked] = await escrow.getUserFunds(address, feeToken);
console.log(`escrow after the claim: ${available} available, ${locked} locked (wei)`);
process.exit(job.status === 70 ? 0 : 1);
