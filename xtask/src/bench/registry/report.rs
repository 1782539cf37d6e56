//! The figures of a workload over its rounds, and the lines that report them.

use std::fmt::Write as _;
use std::time::Duration;

/// One timed transfer of ours: the bytes, the time, the peak memory in KiB, the CPU time
/// of this process and of the registry (when the bench started it) during the transfer.
pub(super) struct Timed {
    pub(super) bytes: u64,
    pub(super) elapsed: Duration,
    pub(super) peak_kib: Option<u32>,
    pub(super) cpu: Cpu,
}

/// CPU time used during a transfer, when known.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Cpu {
    /// By this process (our client, or the raw transfer).
    pub(super) ours: Option<Duration>,
    /// By the registry.
    pub(super) registry: Option<Duration>,
}

impl Cpu {
    /// The CPU time used since `before` (these being totals of the processes).
    pub(super) fn since(self, before: Self) -> Self {
        let delta = |now: Option<Duration>, then: Option<Duration>| Some(now?.saturating_sub(then?));
        Self { ours: delta(self.ours, before.ours), registry: delta(self.registry, before.registry) }
    }

    /// `, cpu 0.21 s, registry cpu 0.40 s` (what is known of it).
    fn describe(self) -> String {
        let mut out = String::new();
        if let Some(ours) = self.ours {
            let _ = write!(out, ", cpu {:.2} s", ours.as_secs_f64());
        }
        if let Some(registry) = self.registry {
            let _ = write!(out, ", registry cpu {:.2} s", registry.as_secs_f64());
        }
        out
    }
}

/// The figures of one workload over the rounds.
#[derive(Default)]
pub(super) struct Figures {
    /// Our times.
    pub(super) ours: Vec<Duration>,
    /// The CPU time of our runs.
    ours_cpu: Vec<Cpu>,
    /// skopeo's times.
    pub(super) skopeo: Vec<Duration>,
    /// The raw transfer's times.
    pub(super) limit: Vec<Duration>,
    /// The CPU time of the raw transfers.
    limit_cpu: Vec<Cpu>,
    /// The times of the raw transfer that hashes what it moves.
    pub(super) hashed: Vec<Duration>,
    /// The bytes of the layers one transfer moves.
    bytes: u64,
    /// The largest peak memory of our runs, in KiB.
    peak_kib: Option<u32>,
}

impl Figures {
    /// Adds a run of ours.
    pub(super) fn record_ours(&mut self, timed: &Timed) {
        self.ours.push(timed.elapsed);
        self.ours_cpu.push(timed.cpu);
        self.bytes = timed.bytes;
        self.peak_kib = self.peak_kib.max(timed.peak_kib);
    }

    /// Adds a raw transfer.
    pub(super) fn record_limit(&mut self, timed: &Timed) {
        self.limit.push(timed.elapsed);
        self.limit_cpu.push(timed.cpu);
    }

    /// Prints the figures of `round` (the last ones) on stderr, as rates or times, with
    /// the CPU time of our run and of the raw one.
    pub(super) fn print_round(&self, name: &str, round: usize, rates: bool) {
        let show = |d: Option<&Duration>| match (d, rates) {
            (None, _) => "-".to_owned(),
            (Some(d), true) => format!("{:.0} MB/s", mb_per_s(self.bytes, *d)),
            (Some(d), false) => format!("{:.3} s", d.as_secs_f64()),
        };
        let cpu = |c: Option<&Cpu>| c.map(|c| c.describe()).unwrap_or_default();
        eprintln!(
            "  {name} round {round}: ours {}{}; skopeo {}; limit {}{}; hashing {}",
            show(self.ours.last()),
            cpu(self.ours_cpu.last()),
            show(self.skopeo.last()),
            show(self.limit.last()),
            cpu(self.limit_cpu.last()),
            show(self.hashed.last()),
        );
    }

    fn peak(&self) -> String {
        self.peak_kib
            .map_or_else(|| "unknown".to_owned(), |kib| format!("{:.1} MiB", f64::from(kib) / 1024.0))
    }

    /// `bench NAME: X MB/s (skopeo Y MB/s, ratio R; hashing H MB/s, ratio R2; limit L
    /// MB/s, ratio R3); peak memory M`.
    pub(super) fn print_rates(&self, name: &str, skopeo: bool) {
        let rate = |times: &[Duration]| best(times).map(|d| mb_per_s(self.bytes, d));
        let ours = rate(&self.ours).unwrap_or(0.0);
        let theirs = rate(&self.skopeo)
            .filter(|_| skopeo)
            .map(|s| format!("skopeo {s:.0} MB/s, ratio {:.2}; ", ours / s))
            .unwrap_or_default();
        let hashed = rate(&self.hashed).unwrap_or(f64::INFINITY);
        let limit = rate(&self.limit).unwrap_or(f64::INFINITY);
        println!(
            "bench {name}: {ours:.0} MB/s ({theirs}hashing {hashed:.0} MB/s, ratio {:.2}; \
             limit {limit:.0} MB/s, ratio {:.2}); peak memory {}",
            ours / hashed,
            ours / limit,
            self.peak()
        );
    }

    /// `bench NAME: X s (skopeo Y s, ratio R; hashing H s, ratio R2; limit L s, ratio R3);
    /// peak memory M`, where the ratios are how many times faster we are (skopeo) and the
    /// hashing and raw transfers' shares of our time.
    pub(super) fn print_times(&self, name: &str, skopeo: bool) {
        let secs = |times: &[Duration]| best(times).map(|d| d.as_secs_f64().max(1e-9));
        let ours = secs(&self.ours).unwrap_or(f64::NAN);
        let theirs = secs(&self.skopeo)
            .filter(|_| skopeo)
            .map(|s| format!("skopeo {s:.2} s, ratio {:.1}; ", s / ours))
            .unwrap_or_default();
        let hashed = secs(&self.hashed).unwrap_or(0.0);
        let limit = secs(&self.limit).unwrap_or(0.0);
        println!(
            "bench {name}: {ours:.2} s ({theirs}hashing {hashed:.2} s, ratio {:.2}; \
             limit {limit:.2} s, ratio {:.2}); peak memory {}",
            hashed / ours,
            limit / ours,
            self.peak()
        );
    }
}

/// One contest's best times, and our peak memory.
#[derive(Default)]
pub(super) struct Best {
    pub(super) ours: Option<Duration>,
    pub(super) theirs: Option<Duration>,
    peak_kib: Option<u32>,
}

impl Best {
    pub(super) fn ours(&mut self, timed: &Timed) {
        self.ours = Some(self.ours.map_or(timed.elapsed, |d| d.min(timed.elapsed)));
        self.peak_kib = self.peak_kib.max(timed.peak_kib);
    }

    /// Adds a run of ours timed from outside (a process): no memory figure.
    pub(super) fn ours_time(&mut self, elapsed: Duration) {
        self.ours = Some(self.ours.map_or(elapsed, |d| d.min(elapsed)));
    }

    pub(super) fn theirs(&mut self, time: Option<Duration>) {
        if let Some(t) = time {
            self.theirs = Some(self.theirs.map_or(t, |d| d.min(t)));
        }
    }

    /// `bench NAME: X MB/s (skopeo Y MB/s, ratio R); peak memory M` (when known).
    #[allow(clippy::cast_precision_loss)] // byte counts far below 2^52
    pub(super) fn print(&self, name: &str, bytes: u64) {
        let rate = |d: Duration| bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9);
        let ours = self.ours.map_or(0.0, rate);
        let theirs = self
            .theirs
            .map(|t| format!(" (skopeo {:.0} MB/s, ratio {:.2})", rate(t), ours / rate(t)))
            .unwrap_or_default();
        // Our runs in another process have no memory figure here.
        let peak = self
            .peak_kib
            .map(|k| format!("; peak memory {:.1} MiB", f64::from(k) / 1024.0))
            .unwrap_or_default();
        println!("bench {name}: {ours:.0} MB/s{theirs}{peak}");
    }

    /// `bench NAME: X s (skopeo Y s, ratio R)`, R how many times faster we are.
    pub(super) fn print_times(&self, name: &str) {
        let ours = self.ours.map_or(f64::NAN, |d| d.as_secs_f64().max(1e-9));
        let theirs = self
            .theirs
            .map(|t| format!(" (skopeo {:.3} s, ratio {:.2})", t.as_secs_f64(), t.as_secs_f64() / ours))
            .unwrap_or_default();
        println!("bench {name}: {ours:.3} s{theirs}");
    }
}

/// The shortest of `times`: the least disturbed run.
fn best(times: &[Duration]) -> Option<Duration> {
    times.iter().min().copied()
}

#[allow(clippy::cast_precision_loss)] // byte counts far below 2^52
fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9)
}
