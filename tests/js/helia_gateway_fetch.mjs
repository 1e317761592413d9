// Helia as an IPFS peer reading files from labelnet nodes' trustless gateways.
//
// Usage: node helia_gateway_fetch.mjs GATEWAY_URL=CID...
//   -> stdout: JSON array, in order, {gateway, cid, size, sha256} or {gateway, cid, error}.
//
// Helia is built light (no libp2p, no bitswap: nothing but HTTP) with @helia/http's
// trustless-gateway block broker and one router that names, for each root CID, the gateway
// given with it (labelnet nodes announce their gateways on chain); child blocks are asked
// of the gateway their root came from. Helia checks every block it receives against its
// CID, so a gateway serving altered blocks makes `cat` fail. One process serves all pairs
// because loading Helia takes seconds.
//
// The router is our own rather than @helia/http's `recursiveGateways` fallback router:
// Helia 7's routing waits forever when only fallback routers exist (it consults them after
// the non-fallback ones finish, and with none there is nothing to finish).
import { createHash } from 'node:crypto'
import { createHeliaLight } from 'helia'
import { withHTTP } from '@helia/http'
import { unixfs } from '@helia/unixfs'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryBlockstore } from 'blockstore-core'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'

const TRANSPORT_IPFS_GATEWAY_HTTP = 0x0920 // multicodec of a gateway "peer id"

function gatewayProvider (gateway) {
  const url = new URL(gateway)
  return {
    id: CID.createV1(TRANSPORT_IPFS_GATEWAY_HTTP, identity.digest(new TextEncoder().encode(gateway))),
    multiaddrs: [multiaddr(`/ip4/${url.hostname}/tcp/${url.port}/http`)],
    protocols: ['transport-ipfs-gateway-http'],
    router: 'labelnet-gateway'
  }
}

const pairs = process.argv.slice(2).map(arg => {
  const at = arg.lastIndexOf('=')
  return { gateway: arg.slice(0, at), cid: CID.parse(arg.slice(at + 1)) }
})
let current = null // the gateway of the file being read; its blocks come from there

const helia = withHTTP(createHeliaLight({ blockstore: new MemoryBlockstore() }), {
  delegatedRouters: [], // never ask public routing services
  recursiveGateways: [], // nor public gateways
  allowInsecure: true, // http:// on loopback
  allowLocal: true
})
helia.addRouter({
  name: 'labelnet-gateway',
  async * findProviders () { yield gatewayProvider(current) },
  toString: () => 'labelnet-gateway'
})
await helia.start()
try {
  const fs = unixfs(helia)
  const results = []
  for (const { gateway, cid } of pairs) {
    current = gateway
    const hash = createHash('sha256')
    let size = 0
    try {
      for await (const chunk of fs.cat(cid, { signal: AbortSignal.timeout(20000) })) {
        hash.update(chunk)
        size += chunk.length
      }
      results.push({ gateway, cid: cid.toString(), size, sha256: hash.digest('hex') })
    } catch (err) {
      results.push({ gateway, cid: cid.toString(), error: String(err?.message ?? err) })
    }
  }
  process.stdout.write(JSON.stringify(results) + '\n')
} finally {
  await helia.stop()
}
