import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY_ROOT, leafHash, toHex } from '../../ledger/hash.ts';
import { MerkleTree, StreamingRoot } from '../../ledger/merkle.ts';
import { verifyConsistency, verifyInclusion } from '../../ledger/proofs.ts';

// RFC 6962 reference inputs (transparency-dev/merkle test data) and published roots.
const LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map((h) => new Uint8Array(Buffer.from(h, 'hex')));
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

function treeOf(n: number): MerkleTree {
  const t = new MerkleTree();
  for (let i = 0; i < n; i++) t.append(leafHash(new Uint8Array(Buffer.from(`leaf ${i}`))));
  return t;
}

describe('Merkle tree (RFC 6962/9162)', () => {
  const ref = new MerkleTree();
  for (const l of LEAVES) ref.append(leafHash(l));

  it('matches the reference roots for sizes 0..8, incrementally and streamed', () => {
    const stream = new StreamingRoot();
    assert.equal(toHex(EMPTY_ROOT), ROOTS[0]);
    assert.equal(toHex(stream.root()), ROOTS[0]);
    for (let n = 1; n <= 8; n++) {
      assert.equal(toHex(ref.root(n)), ROOTS[n], `root of size ${n}`);
      stream.append(leafHash(LEAVES[n - 1]));
      assert.equal(toHex(stream.root()), ROOTS[n], `streamed root of size ${n}`);
    }
  });

  it('produces the reference inclusion proof for leaf 5 of 8 and the 3→8 consistency proof', () => {
    assert.deepEqual(ref.inclusionProof(5, 8).map(toHex), [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    assert.deepEqual(ref.consistencyProof(3, 8).map(toHex), [
      '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
      '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
  });

  it('verifies every inclusion proof and rejects wrong index, leaf, size or root', () => {
    const t = treeOf(37);
    for (let n = 1; n <= 37; n++) {
      const root = t.root(n);
      for (let i = 0; i < n; i++) {
        const proof = t.inclusionProof(i, n);
        assert.ok(verifyInclusion(t.leaf(i), i, n, proof, root), `leaf ${i} of ${n}`);
        if (n > 1) {
          assert.ok(!verifyInclusion(t.leaf(i), (i + 1) % n, n, proof, root));
          assert.ok(!verifyInclusion(t.leaf((i + 1) % n), i, n, proof, root));
          assert.ok(!verifyInclusion(t.leaf(i), i, n, proof, t.root(n - 1)));
        }
        assert.ok(!verifyInclusion(t.leaf(i), i, n, [...proof, root], root));
      }
    }
  });

  it('verifies every consistency proof and rejects mixed-up roots or sizes', () => {
    const t = treeOf(33);
    for (let n = 1; n <= 33; n++) {
      for (let m = 0; m <= n; m++) {
        const proof = t.consistencyProof(m, n);
        assert.ok(verifyConsistency(m, n, t.root(m), t.root(n), proof), `${m} → ${n}`);
        if (m > 0 && m < n) {
          assert.ok(!verifyConsistency(m, n, t.root(m - 1), t.root(n), proof));
          assert.ok(!verifyConsistency(m, n, t.root(m), t.root(n - 1), proof));
          assert.ok(!verifyConsistency(m, n, t.root(m), t.root(n), proof.slice(1)));
        }
      }
    }
    // A fork (an early leaf rewritten, then grown) is consistent with neither proof.
    const orig = treeOf(20);
    const fork = new MerkleTree();
    for (let i = 0; i < 25; i++)
      fork.append(i === 5 ? leafHash(new Uint8Array([1])) : treeOf(25).leaf(i));
    assert.ok(
      !verifyConsistency(20, 25, orig.root(20), fork.root(25), fork.consistencyProof(20, 25)),
    );
  });
});

describe('compact ranges', () => {
  it('continue a tree from any size to the same root', () => {
    const t = treeOf(45);
    for (let m = 0; m <= 45; m += 1) {
      const s = StreamingRoot.fromCompactRange(m, t.compactRange(m));
      assert.equal(toHex(s.root()), toHex(t.root(m)));
      for (let i = m; i < 45; i++) s.append(t.leaf(i));
      assert.equal(toHex(s.root()), toHex(t.root(45)), `from ${m}`);
    }
    assert.throws(() => StreamingRoot.fromCompactRange(7, t.compactRange(6)));
  });
});
