// Build OpenZeppelin StandardMerkleTrees so Python's payout tree can be compared with them.
//
// Usage: node oz_merkle.mjs CASES.json
//   CASES.json: [[[address, amountDecimalString], ...], ...]   (one list of payouts per tree)
//   stdout: [{root, entries: [{account, amount, leaf, proof}]}, ...]   (hex strings, 0x-prefixed)
// Amounts travel as decimal strings because uint256 values do not fit in a JSON number.
import { readFile } from 'node:fs/promises'
import { StandardMerkleTree } from '@openzeppelin/merkle-tree'

const cases = JSON.parse(await readFile(process.argv[2], 'utf8'))
const out = cases.map((payouts) => {
  const tree = StandardMerkleTree.of(payouts, ['address', 'uint256'])
  const entries = []
  for (const [i, [account, amount]] of tree.entries()) {
    entries.push({ account, amount, leaf: tree.leafHash([account, amount]), proof: tree.getProof(i) })
  }
  return { root: tree.root, entries }
})
process.stdout.write(JSON.stringify(out) + '\n')
