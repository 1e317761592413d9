// Independent JavaScript readers of a labelnet node's gateway: @ipld/car parses its CAR
// responses, Helia reads the file from nothing but the CAR's blocks, and
// @helia/verified-fetch uses the node as its trustless gateway.
//
// Usage: node car_gateway_read.mjs SPEC_JSON
//   SPEC_JSON = {"gateway": URL, "cars": [{"path": "/ipfs/CID?...", "accept": "..."}],
//                "verified": [CID...]}
//   -> stdout: {"cars": [{status, contentType, version, roots, blocks, intact, cat} |
//                        {status, error}], "verified": [{cid, status, size, sha256} | {cid, error}]}
//
// For each CAR: `blocks` lists the CIDs in stream order, `intact` says every block hashes to
// its CID (checked here with node:crypto, not by the parser), `cat` is the file Helia's
// UnixFS reader gets from a blockstore holding only those blocks, offline, so a missing
// block makes it fail instead of being fetched.
import { createHash } from 'node:crypto'
import { CarBlockIterator } from '@ipld/car/iterator'
import { createHeliaLight } from 'helia'
import { withHTTP } from '@helia/http'
import { unixfs } from '@helia/unixfs'
import { createVerifiedFetch } from '@helia/verified-fetch'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryBlockstore } from 'blockstore-core'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'

const TRANSPORT_IPFS_GATEWAY_HTTP = 0x0920 // multicodec of a gateway "peer id"
const SHA2_256 = 0x12

const spec = JSON.parse(process.argv[2])

function sha256 (bytes) {
  return createHash('sha256').update(bytes).digest()
}

async function readCar ({ path, accept }) {
  const response = await fetch(spec.gateway + path, { headers: accept ? { accept } : {} })
  const result = { status: response.status, contentType: response.headers.get('content-type') }
  if (response.status !== 200) return result
  try {
    const cars = await CarBlockIterator.fromIterable(response.body)
    const blockstore = new MemoryBlockstore()
    result.version = cars.version
    result.roots = (await cars.getRoots()).map(String)
    result.blocks = []
    result.intact = true
    for await (const { cid, bytes } of cars) {
      result.blocks.push(cid.toString())
      const digest = cid.multihash.code === SHA2_256 ? sha256(bytes) : null
      result.intact &&= digest !== null && Buffer.compare(digest, cid.multihash.digest) === 0
      await blockstore.put(cid, bytes)
    }
    result.cat = await catOffline(blockstore, CID.parse(result.roots[0]))
  } catch (err) {
    result.error = String(err?.message ?? err)
  }
  return result
}

async function catOffline (blockstore, root) {
  const helia = await createHeliaLight({ blockstore, start: false })
  try {
    const hash = createHash('sha256')
    let size = 0
    for await (const chunk of unixfs(helia).cat(root, { offline: true })) {
      hash.update(chunk)
      size += chunk.length
    }
    return { size, sha256: hash.digest('hex') }
  } catch (err) {
    return { error: String(err?.message ?? err) }
  } finally {
    await helia.stop()
  }
}

// verified-fetch on a Helia that knows one trustless gateway, ours, and asks no public
// service (the same light HTTP-only set-up as helia_gateway_fetch.mjs, for the same reason).
async function verifiedFetches (cids) {
  if (cids.length === 0) return []
  const url = new URL(spec.gateway)
  const provider = {
    id: CID.createV1(TRANSPORT_IPFS_GATEWAY_HTTP, identity.digest(new TextEncoder().encode(spec.gateway))),
    multiaddrs: [multiaddr(`/ip4/${url.hostname}/tcp/${url.port}/http`)],
    protocols: ['transport-ipfs-gateway-http'],
    router: 'labelnet-gateway'
  }
  const helia = withHTTP(createHeliaLight({ blockstore: new MemoryBlockstore() }), {
    delegatedRouters: [],
    recursiveGateways: [],
    allowInsecure: true,
    allowLocal: true
  })
  helia.addRouter({
    name: 'labelnet-gateway',
    async * findProviders () { yield provider },
    toString: () => 'labelnet-gateway'
  })
  await helia.start()
  const verifiedFetch = await createVerifiedFetch(helia)
  const results = []
  try {
    for (const cid of cids) {
      try {
        const response = await verifiedFetch(`ipfs://${cid}`, { signal: AbortSignal.timeout(20000) })
        const body = Buffer.from(await response.arrayBuffer())
        results.push({ cid, status: response.status, size: body.length, sha256: sha256(body).toString('hex') })
      } catch (err) {
        results.push({ cid, error: String(err?.message ?? err) })
      }
    }
  } finally {
    await verifiedFetch.stop()
    await helia.stop()
  }
  return results
}

const cars = []
for (const request of spec.cars ?? []) cars.push(await readCar(request))
const verified = await verifiedFetches(spec.verified ?? [])
process.stdout.write(JSON.stringify({ cars, verified }) + '\n')
