use beginnings_abi::Error;
use serde::Deserialize;

/// The monitor's configuration (`enabled` is the host's switch and never reaches it).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorConfig {
    /// The share of requests measured, 0.0 to 1.0.
    #[serde(default = "default_sample_rate")]
    pub sample_rate: f64,
}

fn default_sample_rate() -> f64 {
    0.1
}

impl MonitorConfig {
    /// The sampling rule: `None` when nothing is ever sampled.
    pub fn sampling(&self) -> Result<Option<Sampling>, Error> {
        let rate = self.sample_rate;
        if !(0.0..=1.0).contains(&rate) {
            return Err(Error::new(format!(
                "sample_rate: expected a number from 0.0 to 1.0, found {rate}"
            )));
        }
        Ok(if rate == 0.0 {
            None
        } else if rate == 1.0 {
            Some(Sampling::All)
        } else {
            // The draw is uniform over u64; it is below this with probability `rate`.
            Some(Sampling::Below((rate * 2f64.powi(64)) as u64))
        })
    }
}

/// Which requests are measured.
#[derive(Debug, Clone, Copy)]
pub enum Sampling {
    All,
    Below(u64),
}

impl Sampling {
    /// One draw from the thread's own generator: no lock, no allocation.
    #[inline]
    pub fn sampled(self) -> bool {
        match self {
            Sampling::All => true,
            Sampling::Below(threshold) => fastrand::u64(..) < threshold,
        }
    }
}
