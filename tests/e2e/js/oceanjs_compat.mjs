// ocean.js compatibility check for the c2d provider.
//
// Drives a running provider with the unmodified public API of @oceanprotocol/lib 8.0.0, the
// way a marketplace would: discover environments, start a free job on raw data with raw
// algorithm code, poll its status, download the result archive, then start a long job, read
// its streamed logs and stop it. If ocean.js can do all of that, the provider is
// wire-compatible for the free compute flow.
//
// Environment:
//   PROVIDER_URL   e.g. http://127.0.0.1:8123                                  (required)
//   CONSUMER_KEY   hex private key of the consumer                               (required)
//   DATASET_URL    http URL of a CSV the provider can fetch                       (required)
//   ALGO_RAWCODE   python code replacing the line-counting algorithm              (optional;
//                  the result content check is then skipped)
//   C2D_JS_DIR     directory whose node_modules holds @oceanprotocol/lib and ethers
//                  (default: <repo>/js)
//   C2D_E2E_JOB_TIMEOUT_S  how long one job may take to finish (default 120)
//
// Output: exactly one JSON object on stdout; progress and ocean.js' own logging on stderr.
// Exit code 0 only if every step worked.

import { gunzipSync } from 'node:zlib';

import { need, pickJob, requireFromJs, run, sleep } from './harness.mjs';

// ---------------------------------------------------------------------------------------------
// Setup

const { ProviderInstance } = requireFromJs('@oceanprotocol/lib');
const { ethers } = requireFromJs('ethers');

const POLL_INTERVAL_MS = 2000;
const JOB_TIMEOUT_MS = 1000 * Number(process.env.C2D_E2E_JOB_TIMEOUT_S || 120);

// Ocean Node status codes this script reasons about (see docs/design.md#status-codes).
const STATUS = {
  QUEUE_EXPIRED: 2,
  RUNNING: 40,
  PUBLISHING: 60,
  FINISHED: 70,
};

// The default algorithm: count lines of every input file so the result can be checked against
// the dataset itself. Binary mode and counting b"\n" keeps the definition identical to
// countLines() below.
const LINE_COUNT_ALGO = `
import json, os
counts = {}
for root, _dirs, files in os.walk("/data/inputs"):
    for name in files:
        p = os.path.join(root, name)
        with open(p, "rb") as f:
            data = f.read()
        counts[p] = data.count(b"\\n") + (1 if data and not data.endswith(b"\\n") else 0)
os.makedirs("/data/outputs", exist_ok=True)
with open("/data/outputs/result.txt", "w") as f:
    json.dump({"files": counts, "total": sum(counts.values())}, f)
print("counted", len(counts), "files")
`;

// A job that stays busy and keeps printing, so there is something to stream and to stop.
const LONG_RUNNING_ALGO = `
import time
for i in range(1200):
    print("tick", i, flush=True)
    time.sleep(0.5)
`;

const progress = (...args) => console.error('[oceanjs_compat]', ...args);

// ---------------------------------------------------------------------------------------------
// Helpers around the ocean.js calls

function rawAlgorithm(rawcode) {
  // A raw algorithm is ComputeAlgorithm.meta with rawcode + container; no DDO involved.
  return {
    meta: {
      rawcode,
      container: { entrypoint: 'python3 $ALGO', image: 'python', tag: '3.11', checksum: '' },
    },
  };
}

function rawDataset(url) {
  // A raw dataset is ComputeAsset.fileObject; ocean.js sends it as-is in datasets[].
  return { fileObject: { type: 'url', url, method: 'GET' } };
}

// Start/status/stop answer with an array of jobs (sometimes a single object); pick ours.

// Terminal = the job will not change any more. 40 running and 60 publishing are in-flight states
// even though they are >= 31; 71 (settling) only exists for paid jobs.
function isFailure(status) {
  return status === STATUS.QUEUE_EXPIRED ||
    (status >= 31 && status !== STATUS.RUNNING && status !== STATUS.PUBLISHING && status !== STATUS.FINISHED);
}

function isTerminal(status) {
  return status === STATUS.FINISHED || isFailure(status);
}

async function getStatus(providerUrl, wallet, jobId) {
  return pickJob(await ProviderInstance.computeStatus(providerUrl, wallet, jobId), jobId);
}

// Poll computeStatus until `done(job)` holds or the deadline passes.
async function pollStatus(providerUrl, wallet, jobId, done, what, timeoutMs = JOB_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let job;
  while (Date.now() < deadline) {
    job = await getStatus(providerUrl, wallet, jobId);
    if (done(job)) return job;
    await sleep(POLL_INTERVAL_MS);
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}; last status ` +
    `${job?.status} (${job?.statusText})`);
}

async function freeStart(providerUrl, wallet, envId, datasetUrl, rawcode) {
  const response = await ProviderInstance.freeComputeStart(
    providerUrl, wallet, envId, [rawDataset(datasetUrl)], rawAlgorithm(rawcode));
  // ocean.js returns null instead of throwing when the provider lacks the freeCompute endpoint.
  if (!response) throw new Error('freeComputeStart returned nothing (freeCompute endpoint missing?)');
  return pickJob(response);
}

// ---------------------------------------------------------------------------------------------
// Result archive checks

function countLines(bytes) {
  let n = 0;
  for (const b of bytes) if (b === 0x0a) n++;
  if (bytes.length && bytes[bytes.length - 1] !== 0x0a) n++;
  return n;
}

// Minimal ustar reader: enough to list members and read a small text file.
function tarEntries(buf) {
  const entries = [];
  let offset = 0;
  while (offset + 512 <= buf.length) {
    const header = buf.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    const field = (start, len) => header.subarray(start, start + len).toString('latin1').replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || '0';
    entries.push({ name, size, type, data: buf.subarray(offset + 512, offset + 512 + size) });
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

function asTar(bytes) {
  // Ocean Node serves outputs.tar uncompressed; accept a gzip-wrapped tar as well.
  const buf = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  if (buf.length < 512 || buf.subarray(257, 262).toString('latin1') !== 'ustar') {
    throw new Error(`result is not a tar archive (${bytes.length} bytes)`);
  }
  return buf;
}

async function downloadResult(providerUrl, wallet, job) {
  const results = job.results || [];
  const position = results.findIndex((r) => r.type === 'output');
  if (position < 0) throw new Error(`job has no output result: ${JSON.stringify(results)}`);
  // Clients take the index from the result entry; fall back to its position in the list.
  const index = results[position].index ?? position;
  const url = await ProviderInstance.getComputeResultUrl(providerUrl, wallet, job.jobId, index);
  if (!url) throw new Error('getComputeResultUrl returned nothing (computeResult endpoint missing?)');
  const res = await fetch(url);
  if (!res.ok) throw new Error(`result download failed: HTTP ${res.status} ${await res.text()}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  if (bytes.length === 0) throw new Error('result download is empty');
  return { url, index, bytes };
}

async function checkLineCount(tarBuf, datasetUrl) {
  const entry = tarEntries(tarBuf).find((e) => e.name.replace(/\/+$/, '').endsWith('result.txt'));
  if (!entry) throw new Error('result.txt not found in the output archive');
  const result = JSON.parse(entry.data.toString('utf8'));
  // Count the dataset ourselves; the algorithm must have seen exactly this file.
  const res = await fetch(datasetUrl);
  if (!res.ok) throw new Error(`could not fetch dataset for comparison: HTTP ${res.status}`);
  const expected = countLines(Buffer.from(await res.arrayBuffer()));
  if (!Object.values(result.files || {}).includes(expected)) {
    throw new Error(`no input file with ${expected} lines in result.txt: ${JSON.stringify(result)}`);
  }
  return { expectedLines: expected, result };
}

// ---------------------------------------------------------------------------------------------
// Streamed logs

// computeStreamableLogs resolves with the raw response body (a Node stream with ocean.js'
// node-fetch) once headers arrive, so the provider can keep streaming. Read a little, then
// drop the connection.
async function readSomeLogs(stream, { maxBytes = 4096, timeoutMs = 15000, wantLines = 2 } = {}) {
  const iterator = stream[Symbol.asyncIterator]();
  const chunks = [];
  let size = 0;
  const deadline = Date.now() + timeoutMs;
  try {
    while (size < maxBytes && Date.now() < deadline) {
      const timeout = sleep(deadline - Date.now()).then(() => ({ timeout: true }));
      const pending = iterator.next();
      // Destroying the stream below may reject a read still in flight; that is expected.
      pending.catch(() => {});
      const next = await Promise.race([pending, timeout]);
      if (next.timeout || next.done) break;
      const chunk = Buffer.from(next.value);
      chunks.push(chunk);
      size += chunk.length;
      if (Buffer.concat(chunks).toString('utf8').split('\n').length > wantLines) break;
    }
  } finally {
    if (typeof stream.destroy === 'function') stream.destroy();
    else if (typeof stream.cancel === 'function') await stream.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function streamLogs(providerUrl, wallet, jobId) {
  // The provider may only stream once the algorithm container exists; retry briefly.
  for (let attempt = 0; attempt < 10; attempt++) {
    const stream = await ProviderInstance.computeStreamableLogs(providerUrl, wallet, jobId);
    if (stream) {
      const text = await readSomeLogs(stream);
      if (text.length > 0) return text;
    }
    await sleep(POLL_INTERVAL_MS);
  }
  throw new Error('computeStreamableLogs produced no log output');
}

// ---------------------------------------------------------------------------------------------
// The scenario

async function main() {
  const providerUrl = need('PROVIDER_URL');
  const datasetUrl = need('DATASET_URL');
  // A bare wallet is enough: free compute needs signatures, not a chain.
  const wallet = new ethers.Wallet(need('CONSUMER_KEY'));
  const customAlgo = process.env.ALGO_RAWCODE;
  const summary = { consumer: wallet.address };

  // 1. Discovery: the first environment that offers free compute.
  const envs = await ProviderInstance.getComputeEnvironments(providerUrl);
  if (!Array.isArray(envs)) throw new Error(`computeEnvironments is not an array: ${JSON.stringify(envs)}`);
  const env = envs.find((e) => e && e.free);
  if (!env) throw new Error(`no environment with a free block among ${envs.length}`);
  summary.environment = env.id;
  progress('environment', env.id);

  // 2. Free job on raw data with raw code.
  const started = await freeStart(providerUrl, wallet, env.id, datasetUrl, customAlgo || LINE_COUNT_ALGO);
  summary.jobId = started.jobId;
  progress('started job', started.jobId, 'status', started.status);

  // 3. Wait for it to finish; a failure status ends the run early.
  const finished = await pollStatus(providerUrl, wallet, started.jobId,
    (job) => isTerminal(job.status), `job ${started.jobId} to finish`);
  if (finished.status !== STATUS.FINISHED) {
    throw new Error(`job ${finished.jobId} failed: ${finished.status} ${finished.statusText} ` +
      JSON.stringify(finished.terminationDetails || {}));
  }
  summary.finalStatus = finished.status;
  // Read with the wallet, so without credentials: what a marketplace's job page gets.
  summary.finishedFields = Object.keys(finished);
  summary.finishedTermination = finished.terminationDetails;
  summary.finishedMaxJobDuration = finished.maxJobDuration;
  summary.finishedExpire = finished.expireTimestamp;
  summary.finishedAlgoStart = finished.algoStartTimestamp;
  summary.results = (finished.results || []).map(({ filename, filesize, type, index }) =>
    ({ filename, filesize, type, index }));

  // 4. Download the output archive through the URL ocean.js builds.
  const download = await downloadResult(providerUrl, wallet, finished);
  const tarBuf = asTar(download.bytes);
  summary.resultIndex = download.index;
  summary.resultBytes = download.bytes.length;
  summary.resultMembers = tarEntries(tarBuf).map((e) => e.name);
  if (!customAlgo) Object.assign(summary, await checkLineCount(tarBuf, datasetUrl));
  progress('downloaded result', download.bytes.length, 'bytes');

  // 5. Long job: stream its logs while it runs, then stop it.
  const long = await freeStart(providerUrl, wallet, env.id, datasetUrl, LONG_RUNNING_ALGO);
  summary.longJobId = long.jobId;
  const running = await pollStatus(providerUrl, wallet, long.jobId,
    (job) => job.status === STATUS.RUNNING || isTerminal(job.status), `job ${long.jobId} to run`);
  if (running.status !== STATUS.RUNNING) {
    throw new Error(`long job ended before it could be observed: ${running.status} ${running.statusText}`);
  }
  summary.logsSample = await streamLogs(providerUrl, wallet, long.jobId);
  progress('read logs', JSON.stringify(summary.logsSample.slice(0, 80)));

  const stopRequestedAt = Date.now();
  const stopResponse = await ProviderInstance.computeStop(long.jobId, providerUrl, wallet);
  summary.stopResponseStatus = pickJob(stopResponse, long.jobId).status;
  // The algorithm would run ~10 minutes on its own; ending within the timeout shows the stop worked.
  const stopped = await pollStatus(providerUrl, wallet, long.jobId,
    (job) => isTerminal(job.status), `job ${long.jobId} to stop`);
  summary.stoppedStatus = stopped.status;
  summary.stoppedStatusText = stopped.statusText;
  summary.stopSeconds = (Date.now() - stopRequestedAt) / 1000;

  return { ok: true, ...summary };
}

run('oceanjs_compat', main);
