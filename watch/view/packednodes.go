package view

import "iter"

// packedNodes holds the packed routes of the nodes that hold one, in
// blocks of blockSize nodes whose prefixes differ only in their last
// blockBits bits (same family, table, length and other bits): a storm's
// routes come in address order, so a block's routes come one after
// another, and a block is one map lookup for blockSize records, with
// its entries side by side in one pointer-free allocation, where a map
// slot per node would cost a cache miss per record on a table of
// 250,000 nodes. The block last used is remembered.
type packedNodes struct {
	blocks map[NodeKey]*routeBlock
	n      int // nodes held
	lastK  NodeKey
	last   *routeBlock // the block of key lastK, nil if none
}

const (
	blockBits = 3
	blockSize = 1 << blockBits
)

// routeBlock holds the packed routes of the nodes of one block, by slot.
type routeBlock struct {
	e    [blockSize]packedEntry
	used uint8 // bit i set: e[i] holds a node's route
}

func newPackedNodes() packedNodes {
	return packedNodes{blocks: map[NodeKey]*routeBlock{}}
}

// prefixEnd returns the bit of pk.dst where pk's prefix ends, and false
// for a key whose nodes are not blocked (no address, an invalid length,
// a prefix shorter than blockBits).
func prefixEnd(pk NodeKey) (int, bool) {
	end := int(pk.bits)
	switch pk.kind {
	case 4:
		end += 96 // As16: the IPv4 address is the last 4 bytes
	case 6:
	default:
		return 0, false
	}
	return end, pk.bits >= 0 && end >= blockBits
}

// blockOf returns the key of node pk's block, pk with the last
// blockBits bits of its prefix cleared, and pk's slot in it, those bits.
func blockOf(pk NodeKey) (NodeKey, uint8) {
	end, ok := prefixEnd(pk)
	if !ok {
		return pk, 0
	}
	var slot uint8
	for j := end - blockBits; j < end; j++ {
		i, m := j>>3, byte(0x80)>>(j&7)
		slot <<= 1
		if pk.dst[i]&m != 0 {
			slot |= 1
			pk.dst[i] &^= m
		}
	}
	return pk, slot
}

// nodeOf returns the node of slot slot of block bk (blockOf's inverse).
func nodeOf(bk NodeKey, slot uint8) NodeKey {
	end, ok := prefixEnd(bk)
	if !ok {
		return bk
	}
	for j := end - 1; j >= end-blockBits; j-- {
		if slot&1 != 0 {
			bk.dst[j>>3] |= byte(0x80) >> (j & 7)
		}
		slot >>= 1
	}
	return bk
}

// block returns the block of key bk, nil if there is none.
func (t *packedNodes) block(bk NodeKey) *routeBlock {
	if t.last != nil && t.lastK == bk {
		return t.last
	}
	b := t.blocks[bk]
	if b != nil {
		t.lastK, t.last = bk, b
	}
	return b
}

// get returns the packed route of node pk.
func (t *packedNodes) get(pk NodeKey) (packedEntry, bool) {
	if t.n == 0 {
		return packedEntry{}, false
	}
	bk, i := blockOf(pk)
	if b := t.block(bk); b != nil && b.used&(1<<i) != 0 {
		return b.e[i], true
	}
	return packedEntry{}, false
}

// put makes p the packed route of node pk.
func (t *packedNodes) put(pk NodeKey, p packedEntry) {
	bk, i := blockOf(pk)
	b := t.block(bk)
	if b == nil {
		b = &routeBlock{}
		t.blocks[bk] = b
		t.lastK, t.last = bk, b
	}
	if b.used&(1<<i) == 0 {
		b.used |= 1 << i
		t.n++
	}
	b.e[i] = p
}

// del removes the packed route of node pk, if any.
func (t *packedNodes) del(pk NodeKey) {
	bk, i := blockOf(pk)
	b := t.block(bk)
	if b == nil || b.used&(1<<i) == 0 {
		return
	}
	b.used &^= 1 << i
	b.e[i] = packedEntry{}
	t.n--
	if b.used == 0 {
		delete(t.blocks, bk)
		if t.last == b {
			t.last = nil
		}
	}
}

// all yields every node held with its packed route. The loop may del
// the node it is given.
func (t *packedNodes) all() iter.Seq2[NodeKey, packedEntry] {
	return func(yield func(NodeKey, packedEntry) bool) {
		for bk, b := range t.blocks {
			for i := range uint8(blockSize) {
				if b.used&(1<<i) != 0 && !yield(nodeOf(bk, i), b.e[i]) {
					return
				}
			}
		}
	}
}

// BlockSize is how many nodes a block holds at most.
const BlockSize = blockSize

// Block returns the key of the block of nk and nk's slot in it (below
// BlockSize). The nodes whose prefixes differ only in their last 3 bits
// (same family, table, length and other bits) share a block: a storm's
// routes come in address order, and a map of blocks holds neighbours
// side by side and is looked up once for BlockSize of them. Distinct
// NodeKeys have distinct blocks or slots.
func (nk NodeKey) Block() (NodeKey, int) {
	bk, slot := blockOf(nk)
	return bk, int(slot)
}
