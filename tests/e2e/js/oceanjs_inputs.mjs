// Datasets of every storage type as a marketplace sends them with @oceanprotocol/lib 8.0.0:
// freeComputeStart with one {fileObject} dataset per job (ocean.js also sends it as `dataset`).
// The Python test waits for the jobs and reads what the algorithm copied from its input.
//
// Environment:
//   PROVIDER_URL    e.g. http://127.0.0.1:8123                                  (required)
//   CONSUMER_KEY    hex private key of the consumer                               (required)
//   DATASETS        JSON object: name → file object (s3, ftp, ipfs, arweave, …)   (required)
//   ALGORITHM_CODE  the raw algorithm each job runs                               (required)
//   C2D_JS_DIR      directory whose node_modules holds @oceanprotocol/lib and ethers
// Output: one JSON object on stdout, {ok, jobs: {name: jobId}}; progress on stderr.

import { need, pickJob, requireFromJs, run } from './harness.mjs';

const { ProviderInstance } = requireFromJs('@oceanprotocol/lib');
const { ethers } = requireFromJs('ethers');

async function main() {
  const providerUrl = need('PROVIDER_URL');
  const wallet = new ethers.Wallet(need('CONSUMER_KEY'));
  const datasets = JSON.parse(need('DATASETS'));
  const algorithm = { meta: { rawcode: need('ALGORITHM_CODE'),
    container: { entrypoint: 'python3 $ALGO', image: 'python', tag: '3.11', checksum: '' } } };
  const envs = await ProviderInstance.getComputeEnvironments(providerUrl);
  const env = envs.find((e) => e && e.free);
  const jobs = {};
  for (const [name, fileObject] of Object.entries(datasets)) {
    const response = await ProviderInstance.freeComputeStart(
      providerUrl, wallet, env.id, [{ fileObject }], algorithm);
    jobs[name] = pickJob(response).jobId;
    console.error('[oceanjs_inputs]', name, jobs[name]);
  }
  return { ok: true, jobs };
}

run('oceanjs_inputs', main);
