// Results to the consumer's storage as a marketplace asks for them with @oceanprotocol/lib 8.0.0:
// freeComputeStart with an `output` object, which ocean.js ECIES-encrypts for the provider's
// nodePublicKey itself. One job per output; the Python test waits for them and reads the storage.
//
// Environment:
//   PROVIDER_URL    e.g. http://127.0.0.1:8123                                       (required)
//   CONSUMER_KEY    hex private key of the consumer                                    (required)
//   OUTPUTS         JSON object: name → ComputeOutput ({remoteStorage, encryption?})   (required)
//   ALGORITHM_CODE  the raw algorithm each job runs                                    (required)
//   C2D_JS_DIR      directory whose node_modules holds @oceanprotocol/lib and ethers
// Output: one JSON object on stdout, {ok, jobs: {name: jobId}}; progress on stderr.

import { need, pickJob, requireFromJs, run } from './harness.mjs';

const { ProviderInstance } = requireFromJs('@oceanprotocol/lib');
const { ethers } = requireFromJs('ethers');

async function main() {
  const providerUrl = need('PROVIDER_URL');
  const wallet = new ethers.Wallet(need('CONSUMER_KEY'));
  const outputs = JSON.parse(need('OUTPUTS'));
  const algorithm = { meta: { rawcode: need('ALGORITHM_CODE'),
    container: { entrypoint: 'python3 $ALGO', image: 'python', tag: '3.11', checksum: '' } } };
  const envs = await ProviderInstance.getComputeEnvironments(providerUrl);
  const env = envs.find((e) => e && e.free);
  const jobs = {};
  for (const [name, output] of Object.entries(outputs)) {
    const response = await ProviderInstance.freeComputeStart(
      providerUrl, wallet, env.id, [], algorithm, undefined, undefined, undefined, output);
    jobs[name] = pickJob(response).jobId;
    console.error('[oceanjs_output]', name, jobs[name]);
  }
  return { ok: true, jobs };
}

run('oceanjs_output', main);
