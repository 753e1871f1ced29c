//! The Merkle tree over a statement's person lines: SHA-256, with leaves and inner nodes hashed
//! under different one-byte prefixes (0x00 and 0x01, as RFC 6962 does), so a leaf can never be
//! passed off as a node. Pairs are formed left to right at each level; a lone last node goes up
//! unchanged (rs_merkle's rule). The tree is `rs_merkle`'s, with this hasher.
use rs_merkle::{Hasher, MerkleProof, MerkleTree};
use sha2::{Digest, Sha256};

const LEAF: u8 = 0x00;
const NODE: u8 = 0x01;

/// SHA-256 with the inner-node prefix: what `rs_merkle` calls to join two children.
#[derive(Clone)]
pub struct NodeHasher;

impl Hasher for NodeHasher {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(right) => {
                let mut hasher = Sha256::new();
                hasher.update([NODE]);
                hasher.update(left);
                hasher.update(right);
                hasher.finalize().into()
            }
            None => *left,
        }
    }
}

/// A leaf: SHA-256 of 0x00 and the line's UTF-8 bytes.
pub fn leaf_hash(line: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([LEAF]);
    hasher.update(line.as_bytes());
    hasher.finalize().into()
}

/// The root over `lines`, in order; the root of no lines is SHA-256 of nothing.
pub fn root(lines: &[String]) -> [u8; 32] {
    if lines.is_empty() {
        return Sha256::digest(b"").into();
    }
    let leaves: Vec<[u8; 32]> = lines.iter().map(|line| leaf_hash(line)).collect();
    MerkleTree::<NodeHasher>::from_leaves(&leaves)
        .root()
        .unwrap_or_default()
}

/// The sibling hashes that lead from line `index` to the root, bottom up.
pub fn path(lines: &[String], index: usize) -> Vec<[u8; 32]> {
    let leaves: Vec<[u8; 32]> = lines.iter().map(|line| leaf_hash(line)).collect();
    MerkleTree::<NodeHasher>::from_leaves(&leaves)
        .proof(&[index])
        .proof_hashes()
        .to_vec()
}

/// Whether `line` at `index` of `total` lines leads to `root` through `path`.
pub fn path_leads_to(
    root: &[u8; 32],
    line: &str,
    index: usize,
    total: usize,
    path: &[[u8; 32]],
) -> bool {
    // Bounds first: a proof is input from outside, and an index past the end has no place.
    if index >= total || path.len() > 64 {
        return false;
    }
    MerkleProof::<NodeHasher>::new(path.to_vec()).verify(*root, &[index], &[leaf_hash(line)], total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(count: usize) -> Vec<String> {
        (0..count).map(|i| format!("line {i}")).collect()
    }

    #[test]
    fn every_line_of_trees_of_every_small_size_proves_and_no_other_does() {
        for count in 1..=17 {
            let lines = lines(count);
            let root = root(&lines);
            for index in 0..count {
                let path = path(&lines, index);
                assert!(path_leads_to(&root, &lines[index], index, count, &path));
                assert!(!path_leads_to(&root, "another", index, count, &path));
                if count > 1 {
                    let other = (index + 1) % count;
                    assert!(!path_leads_to(&root, &lines[index], other, count, &path));
                }
                assert!(!path_leads_to(&root, &lines[index], count, count, &path));
            }
        }
    }

    #[test]
    fn a_leaf_is_not_a_node_and_the_root_of_two_is_the_prefixed_join() {
        let lines = lines(2);
        let mut joined = Sha256::new();
        joined.update([NODE]);
        joined.update(leaf_hash(&lines[0]));
        joined.update(leaf_hash(&lines[1]));
        let expected: [u8; 32] = joined.finalize().into();
        assert_eq!(root(&lines), expected);
        assert_ne!(leaf_hash("x"), <NodeHasher as Hasher>::hash(b"x"));
        assert_eq!(root(&[]), <[u8; 32]>::from(Sha256::digest(b"")));
    }
}
