// Print the CID Helia (@helia/unixfs) gives each file, imported exactly as
// `ipfs add --cid-version=1` (kubo) does, so Python's DAG builder can be checked
// against a real IPFS implementation.
//
// Usage: node unixfs_cids.mjs FILE...   ->   stdout: JSON array of CID strings, in order.
//
// @helia/unixfs's own defaults are NOT kubo's: addBytes defaults to 1 MiB chunks and
// 1024 links per node (the Filecoin-style "unixfs-v1-2025" profile). Kubo's
// --cid-version=1 defaults are 256 KiB chunks, 174 links, raw leaves, CIDv1, so every
// one of those is set explicitly here.
import { readFile } from 'node:fs/promises'
import { createHelia } from 'helia'
import { unixfs } from '@helia/unixfs'
import { MemoryBlockstore } from 'blockstore-core'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'

const KUBO_CID_V1 = {
  cidVersion: 1,
  rawLeaves: true,
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize: 262144 }),
  layout: balanced({ maxChildrenPerNode: 174 })
}

const paths = process.argv.slice(2)
const helia = await createHelia({ blockstore: new MemoryBlockstore(), start: false })
try {
  const fs = unixfs(helia)
  const cids = []
  for (const path of paths) {
    const bytes = await readFile(path)
    const cid = await fs.addBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), KUBO_CID_V1)
    cids.push(cid.toString())
  }
  process.stdout.write(JSON.stringify(cids) + '\n')
} finally {
  await helia.stop()
}
