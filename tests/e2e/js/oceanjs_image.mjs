// Algorithms in registry images as a marketplace starts them with @oceanprotocol/lib 8.0.0:
// freeComputeStart with the container naming the image, and `dockerRegistryAuth`
// ({username, password}) for a private one, which ocean.js ECIES-encrypts for the provider's
// nodePublicKey itself (encryptedDockerRegistryAuth). One job per entry; the Python test waits
// for them and reads their results.
//
// Environment:
//   PROVIDER_URL    e.g. http://127.0.0.1:8123                                        (required)
//   CONSUMER_KEY    hex private key of the consumer                                     (required)
//   JOBS            JSON object: name → {container, auth?}                              (required)
//   ALGORITHM_CODE  the raw algorithm each job runs                                     (required)
//   C2D_JS_DIR      directory whose node_modules holds @oceanprotocol/lib and ethers
// Output: one JSON object on stdout, {ok, jobs: {name: jobId}, refused: {name: message}}.

import { need, pickJob, requireFromJs, run } from './harness.mjs';

const { ProviderInstance } = requireFromJs('@oceanprotocol/lib');
const { ethers } = requireFromJs('ethers');

async function main() {
  const providerUrl = need('PROVIDER_URL');
  const wallet = new ethers.Wallet(need('CONSUMER_KEY'));
  const code = need('ALGORITHM_CODE');
  const envs = await ProviderInstance.getComputeEnvironments(providerUrl);
  const env = envs.find((e) => e && e.free);
  const jobs = {};
  const refused = {};
  for (const [name, { container, auth }] of Object.entries(JSON.parse(need('JOBS')))) {
    const algorithm = { meta: { rawcode: code, container } };
    try {
      const response = await ProviderInstance.freeComputeStart(
        providerUrl, wallet, env.id, [], algorithm, undefined, undefined, undefined, undefined,
        undefined, undefined, undefined, auth);
      jobs[name] = pickJob(response).jobId;
    } catch (err) {
      refused[name] = String(err && err.message ? err.message : err);
    }
    console.error('[oceanjs_image]', name, jobs[name] || refused[name]);
  }
  return { ok: true, jobs, refused };
}

run('oceanjs_image', main);
