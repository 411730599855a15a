// ocean.js access check for the c2d provider: initialize, order with the provider fee it
// returned, getDownloadUrl, download — the calls a marketplace makes for an access service.
//
// Environment (all required):
//   PROVIDER_URL, RPC, ADDRESS_FILE (C2D_HOME/chain/addresses.json), CONSUMER_KEY (funded with
//   gas and one datatoken of the asset), DID, SERVICE_ID, DATATOKEN
// Optional: RANGE (a Range header value): a second download of the same order, with ocean.js's
//   userCustomParameters {"city": "Berlin"} (its userdata), asks for that byte range.
// Output: one JSON object on stdout; progress on stderr. Exit 0 only if every step worked.

import crypto from 'node:crypto';
import fs from 'node:fs';

import { mined, need, requireFromJs, run } from './harness.mjs';

const { ProviderInstance, ConfigHelper, Datatoken } = requireFromJs('@oceanprotocol/lib');
const { ethers } = requireFromJs('ethers');

async function main() {
  const providerUrl = need('PROVIDER_URL');
  const rpc = new ethers.JsonRpcProvider(need('RPC'), undefined, { pollingInterval: 100 });
  const wallet = new ethers.Wallet(need('CONSUMER_KEY'), rpc);
  const addresses = JSON.parse(fs.readFileSync(need('ADDRESS_FILE'), 'utf8'));
  const config = new ConfigHelper().getAddressesFromEnv('development', addresses);
  const chainId = Number(config.chainId);
  const did = need('DID');
  const serviceId = need('SERVICE_ID');

  const [info] = await ProviderInstance.checkDidFiles(did, serviceId, providerUrl, true);
  if (!info || !info.valid) throw new Error(`checkDidFiles: ${JSON.stringify(info)}`);

  const init = await ProviderInstance.initialize(did, serviceId, 0, wallet.address, providerUrl);
  if (!init || !init.providerFee) throw new Error(`initialize: ${JSON.stringify(init)}`);

  const datatoken = new Datatoken(wallet, chainId, config);
  const tx = await datatoken.startOrder(need('DATATOKEN'), wallet.address, 0, init.providerFee);
  if (!tx) throw new Error('ordering failed (see the log above)');
  const transferTxId = (await mined(tx)).hash;

  const url = await ProviderInstance.getDownloadUrl(
    did, serviceId, 0, transferTxId, providerUrl, wallet);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`download failed: HTTP ${res.status} ${await res.text()}`);
  const body = Buffer.from(await res.arrayBuffer());
  let ranged = null;
  if (process.env.RANGE) {
    const again = await ProviderInstance.getDownloadUrl(
      did, serviceId, 0, transferTxId, providerUrl, wallet, undefined, { city: 'Berlin' });
    const part = await fetch(again, { headers: { Range: process.env.RANGE } });
    ranged = {
      status: part.status,
      contentRange: part.headers.get('content-range'),
      text: Buffer.from(await part.arrayBuffer()).toString('utf8'),
    };
  }
  return {
    ranged,
    ok: true,
    datatoken: init.datatoken,
    fileInfo: info,
    downloadUrl: url,
    bytes: body.byteLength,
    sha256: crypto.createHash('sha256').update(body).digest('hex'),
    text: body.toString('utf8'),
  };
}

run('oceanjs_access', main);
