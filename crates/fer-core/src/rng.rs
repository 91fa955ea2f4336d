//! Small deterministic random numbers (splitmix64) for seeds, splits and shuffles; never LibTorch's.

/// splitmix64: a fast, well-mixed 64-bit generator.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0), without modulo bias worth caring about for n << 2^64.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

/// Derives an independent seed from a base seed and a path of tags, e.g. (seed, epoch, batch).
pub fn derive(base: u64, tags: &[u64]) -> u64 {
    let mut s = SplitMix64::new(base ^ 0x5EED_F00D_CAFE_D00D);
    let mut x = s.next_u64();
    for t in tags {
        let mut m = SplitMix64::new(x ^ t.wrapping_mul(0xA24B_AED4_963E_E407));
        x = m.next_u64();
    }
    x
}

/// A LibTorch seed (it takes `i64`), derived like [`derive`].
pub fn torch_seed(base: u64, tags: &[u64]) -> i64 {
    (derive(base, tags) >> 1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_distinct() {
        assert_eq!(derive(1, &[2, 3]), derive(1, &[2, 3]));
        assert_ne!(derive(1, &[2, 3]), derive(1, &[3, 2]));
        assert_ne!(derive(1, &[]), derive(2, &[]));
        let mut a: Vec<u32> = (0..100).collect();
        SplitMix64::new(7).shuffle(&mut a);
        let mut b: Vec<u32> = (0..100).collect();
        SplitMix64::new(7).shuffle(&mut b);
        assert_eq!(a, b);
        assert_ne!(a, (0..100).collect::<Vec<_>>());
        a.sort();
        assert_eq!(a, (0..100).collect::<Vec<_>>());
    }
}
