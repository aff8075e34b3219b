//! Which x86 vector kernels run: the widest the CPU has, or fewer when the environment variable
//! `GRADWORK_CPU_CAPABILITY` caps them (`avx2`: no AVX-512 kernels; `none`: no hand-written
//! vector kernels, `matrixmultiply` for products), like PyTorch's `ATEN_CPU_CAPABILITY`.
//!
//! Every kernel chosen here gives the same bits as its fallbacks, so the cap changes only the
//! speed: it exists to measure, on one machine, what a CPU without AVX-512 gets (and to rule a
//! kernel out when debugging). It is read once per process.

#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

use std::sync::OnceLock;

/// A family of hand-written kernels.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Isa {
    /// AVX2 with FMA.
    Avx2,
    /// AVX-512F (which implies the AVX2 kernels can run too).
    Avx512,
}

/// The widest kernel family this process uses: what the CPU supports, capped by
/// `GRADWORK_CPU_CAPABILITY`. `None` on other architectures, on CPUs without AVX2 and FMA, and
/// under the cap `none`.
pub(crate) fn isa() -> Option<Isa> {
    static CHOSEN: OnceLock<Option<Isa>> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let cap = std::env::var("GRADWORK_CPU_CAPABILITY").ok();
        let cap = match cap.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("none") => return None,
            Some("avx2") => Isa::Avx2,
            _ => Isa::Avx512,
        };
        detected().map(|isa| isa.min(cap))
    })
}

/// What the CPU supports.
fn detected() -> Option<Isa> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            return Some(Isa::Avx512);
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return Some(Isa::Avx2);
        }
    }
    None
}

/// Whether the AVX-512 kernels run.
pub(crate) fn has_avx512() -> bool {
    isa() == Some(Isa::Avx512)
}
