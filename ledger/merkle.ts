import { EMPTY_ROOT, HASH_SIZE, nodeHash } from './hash.ts';

export class MerkleRangeError extends Error {
  override name = 'MerkleRangeError';
}

/** Largest power of two strictly less than n (n ≥ 2), as RFC 9162 §2.1.1 splits. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** One level of perfect-subtree hashes, stored contiguously (32 bytes each). */
class HashLevel {
  private buf = new Uint8Array(HASH_SIZE * 64);
  count = 0;

  push(h: Uint8Array): void {
    if ((this.count + 1) * HASH_SIZE > this.buf.length) {
      const grown = new Uint8Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf.set(h, this.count * HASH_SIZE);
    this.count++;
  }

  get(i: number): Uint8Array {
    return this.buf.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  }
}

/**
 * An append-only RFC 6962/9162 Merkle tree over leaf hashes. It keeps every complete
 * (perfect, aligned) subtree hash — about 64 bytes per leaf — so the root of any earlier
 * size, inclusion proofs and consistency proofs are all O(log² n) without rehashing.
 */
export class MerkleTree {
  private readonly levels: HashLevel[] = [new HashLevel()];

  get size(): number {
    return this.levels[0].count;
  }

  /** Appends a leaf hash (see `leafHash`). */
  append(leafHash: Uint8Array): void {
    if (leafHash.length !== HASH_SIZE) throw new MerkleRangeError('leaf hash must be 32 bytes');
    this.levels[0].push(leafHash);
    // Every time a level gets an even count, its last two nodes complete a parent.
    let level = 0;
    while (this.levels[level].count % 2 === 0) {
      const l = this.levels[level];
      const parent = nodeHash(l.get(l.count - 2), l.get(l.count - 1));
      if (!this.levels[level + 1]) this.levels.push(new HashLevel());
      this.levels[level + 1].push(parent);
      level++;
    }
  }

  leaf(index: number): Uint8Array {
    this.checkSize(index + 1);
    return this.levels[0].get(index);
  }

  /** MTH(D[0:size]), default the whole tree. */
  root(size: number = this.size): Uint8Array {
    this.checkSize(size);
    return size === 0 ? EMPTY_ROOT : this.rangeHash(0, size);
  }

  /** PATH(index, D[0:size]) of RFC 9162 §2.1.3.1. */
  inclusionProof(index: number, size: number = this.size): Uint8Array[] {
    this.checkSize(size);
    if (!Number.isInteger(index) || index < 0 || index >= size)
      throw new MerkleRangeError(`leaf ${index} is not in a tree of size ${size}`);
    const out: Uint8Array[] = [];
    this.path(index, 0, size, out);
    return out;
  }

  /** PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1. */
  consistencyProof(first: number, second: number = this.size): Uint8Array[] {
    this.checkSize(second);
    if (!Number.isInteger(first) || first < 0 || first > second)
      throw new MerkleRangeError(`no consistency proof from size ${first} to ${second}`);
    const out: Uint8Array[] = [];
    if (first > 0 && first < second) this.subproof(first, 0, second, true, out);
    return out;
  }

  /**
   * The compact range of D[0:size]: the hashes of its perfect subtrees, largest first
   * (one per set bit of `size`). With them a verifier can continue the tree from `size`
   * without the earlier leaves (see StreamingRoot.fromCompactRange).
   */
  compactRange(size: number = this.size): Uint8Array[] {
    this.checkSize(size);
    const out: Uint8Array[] = [];
    let offset = 0;
    for (let level = this.levels.length - 1; level >= 0; level--) {
      const width = 2 ** level;
      if (Math.floor(size / width) % 2 === 1) {
        out.push(this.levels[level].get(offset / width));
        offset += width;
      }
    }
    return out;
  }

  private checkSize(size: number): void {
    if (!Number.isInteger(size) || size < 0 || size > this.size)
      throw new MerkleRangeError(`tree size ${size} is beyond the ledger size ${this.size}`);
  }

  /** MTH(D[lo:hi]) for the ranges RFC recursion produces (lo aligned to the split). */
  private rangeHash(lo: number, hi: number): Uint8Array {
    const n = hi - lo;
    if (isPowerOfTwo(n)) {
      const level = Math.log2(n);
      return this.levels[level].get(lo / n);
    }
    const k = splitPoint(n);
    return nodeHash(this.rangeHash(lo, lo + k), this.rangeHash(lo + k, hi));
  }

  private path(m: number, lo: number, hi: number, out: Uint8Array[]): void {
    const n = hi - lo;
    if (n === 1) return;
    const k = splitPoint(n);
    if (m - lo < k) {
      this.path(m, lo, lo + k, out);
      out.push(this.rangeHash(lo + k, hi));
    } else {
      this.path(m, lo + k, hi, out);
      out.push(this.rangeHash(lo, lo + k));
    }
  }

  private subproof(m: number, lo: number, hi: number, whole: boolean, out: Uint8Array[]): void {
    const n = hi - lo;
    if (m === n) {
      if (!whole) out.push(this.rangeHash(lo, hi));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      this.subproof(m, lo, lo + k, whole, out);
      out.push(this.rangeHash(lo + k, hi));
    } else {
      this.subproof(m - k, lo + k, hi, false, out);
      out.push(this.rangeHash(lo, lo + k));
    }
  }
}

/**
 * Root of a sequence of leaf hashes in O(log n) memory (a compact range / stack of
 * perfect subtrees), for verifiers that stream records instead of keeping the tree.
 */
export class StreamingRoot {
  private readonly stack: { hash: Uint8Array; size: number }[] = [];
  count = 0;

  append(leafHash: Uint8Array): void {
    let node = { hash: leafHash, size: 1 };
    while (this.stack.length > 0 && this.stack[this.stack.length - 1].size === node.size) {
      const left = this.stack.pop()!;
      node = { hash: nodeHash(left.hash, node.hash), size: node.size * 2 };
    }
    this.stack.push(node);
    this.count++;
  }

  /**
   * Continues a tree of `size` leaves from its compact range (perfect subtree hashes,
   * largest first). Throws MerkleRangeError if the count does not fit `size`.
   */
  static fromCompactRange(size: number, hashes: readonly Uint8Array[]): StreamingRoot {
    const s = new StreamingRoot();
    const sizes: number[] = [];
    for (let w = 2 ** 52; w >= 1; w /= 2) if (Math.floor(size / w) % 2 === 1) sizes.push(w);
    if (sizes.length !== hashes.length || hashes.some((h) => h.length !== HASH_SIZE))
      throw new MerkleRangeError(`a compact range of size ${size} has ${sizes.length} hashes`);
    sizes.forEach((w, i) => s.stack.push({ hash: hashes[i], size: w }));
    s.count = size;
    return s;
  }

  /** MTH of everything appended so far. */
  root(): Uint8Array {
    if (this.stack.length === 0) return EMPTY_ROOT;
    // Perfect subtrees shrink left to right; folding right-to-left gives RFC 6962's shape.
    let acc = this.stack[this.stack.length - 1].hash;
    for (let i = this.stack.length - 2; i >= 0; i--) acc = nodeHash(this.stack[i].hash, acc);
    return acc;
  }
}
