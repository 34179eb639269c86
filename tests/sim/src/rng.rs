//! A small deterministic random source (SplitMix64): the same seed replays the same month.

/// SplitMix64: fast, and good enough to draw traffic and people's choices.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// A generator of its own for `stream` (a case, a day), independent of the order draws are made in.
    pub fn derive(seed: u64, stream: u64) -> Rng {
        let mut r = Rng::new(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ stream);
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A Poisson draw with mean `mean` (Knuth's method for small means, normal beyond).
    pub fn poisson(&mut self, mean: f64) -> usize {
        if mean <= 0.0 {
            return 0;
        }
        if mean > 50.0 {
            let (u1, u2) = (self.unit().max(1e-12), self.unit());
            let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            return (mean + normal * mean.sqrt()).round().max(0.0) as usize;
        }
        let limit = (-mean).exp();
        let (mut k, mut p) = (0, 1.0);
        loop {
            p *= self.unit();
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_and_poisson_keeps_its_mean() {
        let (mut a, mut b) = (Rng::derive(7, 3), Rng::derive(7, 3));
        assert_eq!((a.next_u64(), a.unit()), (b.next_u64(), b.unit()));
        let mut r = Rng::new(1);
        let n = 20_000;
        let mean = (0..n).map(|_| r.poisson(4.4)).sum::<usize>() as f64 / n as f64;
        assert!((mean - 4.4).abs() < 0.1, "{mean}");
        let big = (0..n).map(|_| r.poisson(120.0)).sum::<usize>() as f64 / n as f64;
        assert!((big - 120.0).abs() < 1.0, "{big}");
    }
}

#[cfg(test)]
mod streams {
    use super::*;

    #[test]
    fn derived_streams_are_not_alike() {
        let firsts: Vec<f64> = (1..2001).map(|s| Rng::derive(1, s).unit()).collect();
        let mean = firsts.iter().sum::<f64>() / firsts.len() as f64;
        let below = firsts.iter().filter(|x| **x < 0.15).count();
        assert!((mean - 0.5).abs() < 0.03, "{mean}");
        assert!((250..350).contains(&below), "{below} of 2000 below 0.15");
    }
}
