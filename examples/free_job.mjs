// A consumer with ocean.js (@oceanprotocol/lib): a free compute job on raw data with raw code.
//
//   PROVIDER_URL=http://127.0.0.1:8000 CONSUMER_KEY=0x... DATASET_URL=https://.../data.csv \
//     node examples/free_job.mjs
//
// Starts the job (ocean.js signs it), polls its status until it ends, downloads the output
// archive into ./results-JOBID.tar and prints the algorithm's log. Packages come from the
// project's js/ folder (npm ci there). Exit code 0 only if the job finished (70).

import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'js', 'package.json'));
const { ProviderInstance } = require('@oceanprotocol/lib');
const { ethers } = require('ethers');

// Counts the rows of every input file and writes the counts as the job's output.
const ALGORITHM = `
import json, os, pathlib
inputs = pathlib.Path(os.environ["INPUTS"])
counts = {str(p.relative_to(inputs)): len(p.read_bytes().splitlines())
          for p in sorted(inputs.rglob("*")) if p.is_file() and p.name != "algoCustomData.json"}
pathlib.Path(os.environ["OUTPUTS"], "counts.json").write_text(json.dumps(counts))
print("counted", counts)
`;
const CONTAINER = { entrypoint: 'python3 $ALGO', image: 'python', tag: '3.11', checksum: '' };
const ENDED = new Set([2, 31, 32, 41, 42, 61, 62, 70]); // a job does not change after these

const provider = process.env.PROVIDER_URL;
const wallet = new ethers.Wallet(process.env.CONSUMER_KEY);
const environments = await ProviderInstance.getComputeEnvironments(provider);
const environment = environments[0].id;
const started = await ProviderInstance.freeComputeStart(
  provider,
  wallet,
  environment,
  [{ fileObject: { type: 'url', url: process.env.DATASET_URL, method: 'GET' } }],
  { meta: { rawcode: ALGORITHM, container: CONTAINER } },
);
let job = Array.isArray(started) ? started[0] : started;
console.log(`job ${job.jobId} started on ${environment}`);
while (!ENDED.has(job.status)) {
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
process.exit(job.status === 70 ? 0 : 1);
