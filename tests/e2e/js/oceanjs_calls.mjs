// ocean.js calls that need no finished job, each as a marketplace makes it with
// @oceanprotocol/lib 8.0.0: an auth token (its signature made over whatever nonce the provider
// hands out), status and stop of a job id the provider does not know, a start whose remote
// storage for the results lacks its objectKey, and logging out (invalidateAuthToken) after which the token is
// refused.
//
// Environment:
//   PROVIDER_URL   e.g. http://127.0.0.1:8123                                        (required)
//   CONSUMER_KEY   hex private key of the consumer                                     (required)
//   C2D_JS_DIR     directory whose node_modules holds @oceanprotocol/lib and ethers
// Output: one JSON object on stdout; progress on stderr. Exit 0 when every call ran as
// expected; the summary carries what each answered.

import { need, requireFromJs, run } from './harness.mjs';

const { ProviderInstance } = requireFromJs('@oceanprotocol/lib');
const { ethers } = requireFromJs('ethers');

const UNKNOWN_JOB = '0'.repeat(32);
const progress = (...args) => console.error('[oceanjs_calls]', ...args);

// The error ocean.js throws for a refused call, or null when it did not throw.
async function refusal(call) {
  try {
    await call();
    return null;
  } catch (err) {
    return String(err && err.message ? err.message : err);
  }
}

async function main() {
  const providerUrl = need('PROVIDER_URL');
  const wallet = new ethers.Wallet(need('CONSUMER_KEY'));
  const summary = { consumer: wallet.address };

  // ocean.js signs the nonce after the provider's current one.
  summary.tokenNonce = (await ProviderInstance.getNonce(providerUrl, wallet.address)) + 1;
  const token = await ProviderInstance.generateAuthToken(wallet, providerUrl);
  if (!token) throw new Error('generateAuthToken returned nothing');
  progress('token for nonce', summary.tokenNonce);

  summary.unknownStatusByWallet = await ProviderInstance.computeStatus(
    providerUrl, wallet, UNKNOWN_JOB);
  summary.unknownStatusByToken = await ProviderInstance.computeStatus(
    providerUrl, token, UNKNOWN_JOB);
  summary.unknownStop = await ProviderInstance.computeStop(UNKNOWN_JOB, providerUrl, wallet);

  const envs = await ProviderInstance.getComputeEnvironments(providerUrl);
  const env = envs.find((e) => e && e.free);
  // No objectKey: refused at start, before any job exists.
  const output = {
    remoteStorage: { type: 's3', s3Access: { endpoint: 'https://s3.example', bucket: 'b',
      accessKeyId: 'a', secretAccessKey: 's' } },
  };
  const algorithm = { meta: { rawcode: 'print(1)',
    container: { entrypoint: 'python3 $ALGO', image: 'python', tag: '3.11', checksum: '' } } };
  summary.outputRefusal = await refusal(() => ProviderInstance.freeComputeStart(
    providerUrl, wallet, env.id, [], algorithm, undefined, undefined, undefined, output));

  summary.invalidated = await ProviderInstance.invalidateAuthToken(wallet, token, providerUrl);
  summary.statusAfterLogout = await refusal(
    () => ProviderInstance.computeStatus(providerUrl, token, UNKNOWN_JOB));
  return { ok: true, ...summary };
}

run('oceanjs_calls', main);
